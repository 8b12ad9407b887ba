// Measures each part's cost in onnxruntime-node (batch 1, one thread) and writes it into the
// bundle's manifest.json as "costs". Usage: tsx measure-costs.ts BUNDLE_DIR IDS.jsonl [--inputs 300] [--repeats 5]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median } from "@beem-ts/core";
import { MultiExitEncoder, maskTensor } from "@beem-ts/text";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    inputs: { type: "string", default: "300" },
    repeats: { type: "string", default: "5" },
  },
});
const [dir, idsPath] = positionals;
if (dir === undefined || idsPath === undefined)
  throw new Error("Usage: measure-costs.ts BUNDLE_DIR IDS.jsonl");
const inputs = readFileSync(idsPath, "utf8")
  .trim()
  .split("\n")
  .slice(0, Number(values.inputs))
  .map((line) => (JSON.parse(line) as { ids: number[] }).ids);
const model = await MultiExitEncoder.load(dir);
const L = model.numExits;

/** Total seconds per part (embeddings, then each layer) over all inputs, one pass. */
async function pass(): Promise<number[]> {
  const totals = new Array<number>(L + 1).fill(0);
  for (const ids of inputs) {
    const n = ids.length;
    const mask = maskTensor(new BigInt64Array(n).fill(1n), 1, n);
    let t = performance.now();
    let hidden = await model.embed(BigInt64Array.from(ids, BigInt), 1, n);
    totals[0]! += performance.now() - t;
    for (let i = 0; i < L; i++) {
      t = performance.now();
      hidden = (await model.layer(i, hidden, mask)).hidden;
      totals[i + 1]! += performance.now() - t;
    }
  }
  return totals;
}

await pass(); // warm-up
const passes: number[][] = [];
for (let r = 0; r < Number(values.repeats); r++) passes.push(await pass());
await model.dispose();
const perInput = Array.from(
  { length: L + 1 },
  (_, k) => median(passes.map((p) => p[k]!)) / inputs.length,
);
const round = (x: number): number => Number(x.toFixed(4));
const manifestPath = join(dir, "manifest.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
manifest.costs = {
  unit: "ms",
  measuredWith: `onnxruntime-node, 1 intra-op thread, batch 1, mean over ${inputs.length} calibration inputs, median of ${passes.length} passes`,
  fixed: round(perInput[0]!),
  exits: perInput.slice(1).map(round),
};
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
console.log(
  `costs (ms per input): embeddings ${manifest.costs.fixed}, layers ${manifest.costs.exits.join(", ")}`,
);
