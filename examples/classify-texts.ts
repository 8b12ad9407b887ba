// Classify texts with the bundled SST-2 model; each text stops at its own layer.
//   pnpm --filter @beem-ts/examples classify ["a text" ...]
import { resolve } from "node:path";
import { TextClassifier } from "@beem-ts/text";

const texts =
  process.argv.length > 2
    ? process.argv.slice(2)
    : ["a gorgeous, witty, seductive movie.", "the plot goes nowhere and the jokes fall flat"];

const classifier = await TextClassifier.load(resolve(import.meta.dirname, "../models/sst2-beem"));
try {
  const results = await classifier.classify(texts); // the bundle's policy: BEEM-A, lambda 0.01
  results.forEach((r, i) => {
    console.log(
      `${r.label} (${r.confidence.toFixed(3)}), exit ${r.exitLayer} of ${classifier.numExits}: ${texts[i]}`,
    );
  });
} finally {
  await classifier.dispose();
}
