// Benchmark: what moving from one layer's session to the next costs. Times, side by side on one
// text of N tokens (no profiler): the layer graphs run in turn (each its own session, as early
// exit runs them), one layer's session run as many times (its weights partly stay in cache), and
// the fused graph; per layer, medians of --runs.
//
//   pnpm --filter @beem-ts/text bench:switch BUNDLE_DIR [--tokens 1] [--runs 9]
import { parseArgs } from "node:util";
import { median } from "@beem-ts/core";
import { createSession, ort } from "@beem-ts/runtime";
import { readTextManifest } from "../src/index.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tokens: { type: "string", default: "1" }, runs: { type: "string", default: "9" } },
});
const dir = positionals[0];
if (dir === undefined)
  throw new Error("Usage: session-switch.ts BUNDLE_DIR [--tokens 1] [--runs 9]");
const manifest = await readTextManifest(dir);
if (manifest.graphs.fused === undefined) throw new Error(`${dir}: the bundle has no fused graph`);
const S = Number(values.tokens);
const L = manifest.numExits;
const layers = await Promise.all(
  manifest.graphs.layers.map((l) => createSession(`${dir}/${l.file}`)),
);
const fused = await createSession(`${dir}/${manifest.graphs.fused.file}`);
const ids = new ort.Tensor(
  "int64",
  BigInt64Array.from({ length: S }, (_, i) => BigInt(10 + i)),
  [1, S],
);
const mask = new ort.Tensor("int64", new BigInt64Array(S).fill(1n), [1, S]);
const hidden = new ort.Tensor(
  "float32",
  Float32Array.from({ length: S * manifest.hiddenSize }, (_, i) => Math.sin(i)),
  [1, S, manifest.hiddenSize],
);
const ways: Record<string, () => Promise<unknown>> = {
  "every layer's session in turn": async () => {
    for (const layer of layers) await layer.run({ hidden, attention_mask: mask });
  },
  "one layer's session, as many times": async () => {
    for (let i = 0; i < L; i++) await layers[0]!.run({ hidden, attention_mask: mask });
  },
  "the fused graph": () => fused.run({ input_ids: ids, attention_mask: mask }),
};
const ms: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
for (let r = 0; r <= Number(values.runs); r++)
  for (const [name, way] of Object.entries(ways)) {
    const t = performance.now();
    await way();
    if (r > 0) ms[name]!.push(performance.now() - t);
  }
console.log(`${dir}: ${L} layers, ${S} tokens; ms per layer (median of ${values.runs} runs)`);
for (const [name, times] of Object.entries(ms))
  console.log(`  ${name.padEnd(36)} ${(median(times) / L).toFixed(3)}`);
await Promise.all([...layers, fused].map((s) => s.release()));
