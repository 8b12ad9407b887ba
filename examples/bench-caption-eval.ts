// Caption quality of early exit against its measured speed-up, on a few photos of a caption
// data set: the same work as `beem caption-eval --data FILE`, from your own program.
//   pnpm --filter @beem-ts/examples bench-caption-eval [CAPTIONS.jsonl] [--limit N]
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { evaluateCaptions, loadCaptionSplit } from "@beem-ts/bench";
import { Captioner } from "@beem-ts/caption";

const root = resolve(import.meta.dirname, "..");
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { limit: { type: "string", default: "4" } },
});
const data = positionals[0] ?? resolve(root, "../shared/data/captions/flickr8k-1k/captions.jsonl");

const set = await loadCaptionSplit(data, { split: "test", limit: Number(values.limit) });
const captioner = await Captioner.load(resolve(root, "models/photo-caption"));
try {
  // Early exit (the bundle's own rule and lambda) against the fused full-depth graph, timed side
  // by side; with a data set, also the nearest-neighbour and human-agreement baselines.
  const r = await evaluateCaptions(captioner, set, { repeats: 1 });
  console.log(`${set.files.length} test photos, rule ${r.rule}, lambda ${r.lambda}`);
  console.log(`CIDEr-D full depth ${r.ciderFull.toFixed(3)}, early exit ${r.cider.toFixed(3)}`);
  console.log(`mean exit layer ${r.meanExitLayer.toFixed(2)} of ${captioner.numExits}`);
  console.log(
    `measured speed-up ${r.measuredSpeedup.toFixed(2)}x (${r.fullMs.toFixed(0)} ms -> ${r.earlyMs.toFixed(0)} ms)`,
  );
} finally {
  await captioner.dispose();
}
