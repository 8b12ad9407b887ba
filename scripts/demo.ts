// The README's main job. Until a captioning model is bundled, it shows the BEEM core deciding
// on a synthetic 12-exit log: calibrate on one part, report on another.
import { calibrate, createExitTable, evaluate, generateSyntheticExits } from "@beem-ts/core";

console.log(
  "No captioning model is bundled yet, so there is no image to caption.\n" +
    "Meanwhile, the BEEM core on a synthetic 12-exit model (5,000 calibration and 5,000 test inputs):\n",
);
const calibration = createExitTable(
  generateSyntheticExits({ samples: 5000, exits: 12, classes: 3, seed: 1 }),
);
const test = createExitTable(
  generateSyntheticExits({ samples: 5000, exits: 12, classes: 3, seed: 2 }),
);
console.log("rule     lambda  accuracy  final-exit accuracy  mean exit  counted speed-up");
for (const rule of ["beem-a", "maxprob"] as const) {
  for (const lambda of [0, 0.05, 0.2]) {
    const r = evaluate(calibrate(calibration, { rule, lambda }), test);
    console.log(
      `${rule.padEnd(8)} ${String(lambda).padEnd(7)} ${r.accuracy.toFixed(4)}    ${r.finalAccuracy.toFixed(4)}               ` +
        `${r.meanExitLayer.toFixed(2).padStart(5)}      ${r.countedSpeedup.toFixed(2)}x`,
    );
  }
}
