// Caption an image with early exit at a chosen lambda, and at full depth for comparison.
//   pnpm --filter @beem-ts/examples caption [IMAGE] [LAMBDA]
import { resolve } from "node:path";
import { Captioner } from "@beem-ts/caption";

const root = resolve(import.meta.dirname, "..");
const image = process.argv[2] ?? resolve(root, "examples/images/pets.jpg");
const lambda = Number(process.argv[3] ?? "0.05");

const captioner = await Captioner.load(resolve(root, "models/photo-caption"));
try {
  // BEEM-A with thresholds fitted at this lambda on the bundle's calibration log.
  const early = await captioner.caption(image, { rule: "beem-a", lambda });
  const full = await captioner.caption(image, { full: true });
  console.log(`lambda ${lambda}: ${early.text}`);
  // The end token costs layers too: shown, and counted in the mean exit layer.
  const end = early.endExitLayer === null ? "" : ` (end)[${early.endExitLayer}]`;
  console.log(early.tokens.map((t) => `${t.text}[${t.exitLayer}]`).join(" ") + end);
  console.log(`mean exit layer ${early.meanExitLayer.toFixed(2)} of ${captioner.numExits}`);
  console.log(`full depth: ${full.text}`);
} finally {
  await captioner.dispose();
}
