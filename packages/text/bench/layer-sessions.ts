// Benchmark: where a text bundle's layer-by-layer run loses time against its fused graph, per
// operator. Runs the embeddings and the first K layer graphs in turn (each its own session, as
// early exit runs them) and the fused full-depth graph, on one text of N tokens, with
// onnxruntime's profiler on, and prints per layer the kernel time of the matrix products, of the
// exit head and of everything else, beside the same layer inside the fused graph.
//
//   pnpm --filter @beem-ts/text bench:layers BUNDLE_DIR [--layers 6] [--tokens 28] [--runs 8]
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median } from "@beem-ts/core";
import { ort } from "@beem-ts/runtime";
import { readTextManifest } from "../src/index.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    layers: { type: "string", default: "6" },
    tokens: { type: "string", default: "28" },
    runs: { type: "string", default: "8" },
  },
});
const dir = positionals[0];
if (dir === undefined)
  throw new Error("Usage: layer-sessions.ts BUNDLE_DIR [--layers 6] [--tokens 28] [--runs 8]");
const manifest = await readTextManifest(dir);
if (manifest.graphs.fused === undefined) throw new Error(`${dir}: the bundle has no fused graph`);
const K = Number(values.layers);
const S = Number(values.tokens);
const runs = Number(values.runs);
const profiles = mkdtempSync(join(tmpdir(), "beem-layer-sessions-"));

/** A session as createSession makes it, with the profiler writing under `profiles`. */
const open = (file: string, prefix: string) =>
  ort.InferenceSession.create(join(dir, file), {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    enableProfiling: true,
    profileFilePrefix: join(profiles, prefix),
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  });

const ids = new ort.Tensor(
  "int64",
  BigInt64Array.from({ length: S }, (_, i) => BigInt(i === 0 ? 2 : i === S - 1 ? 3 : 10 + i)),
  [1, S],
);
const mask = new ort.Tensor("int64", new BigInt64Array(S).fill(1n), [1, S]);
const embeddings = await open(manifest.graphs.embeddings.file, "embeddings");
const layers = await Promise.all(
  manifest.graphs.layers.slice(0, K).map((l, i) => open(l.file, `layer${i + 1}`)),
);
const fused = await open(manifest.graphs.fused.file, "fused");
const wall = { layers: [] as number[], fused: [] as number[] };
for (let r = 0; r <= runs; r++) {
  let t = performance.now();
  let hidden = (await embeddings.run({ input_ids: ids })).hidden!;
  for (const layer of layers)
    hidden = (await layer.run({ hidden, attention_mask: mask })).hidden_out!;
  const layersMs = performance.now() - t;
  t = performance.now();
  await fused.run({ input_ids: ids, attention_mask: mask });
  if (r > 0) {
    wall.layers.push(layersMs);
    wall.fused.push(performance.now() - t);
  }
}
for (const s of [embeddings, ...layers, fused]) s.endProfiling();

interface Event {
  cat?: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}
/** One profile's kernel events, their durations per run (microseconds). */
function kernelsOf(prefix: string): { node: string; op: string; us: number }[] {
  const file = readdirSync(profiles).find((f) => f.startsWith(`${prefix}_`))!;
  const events = JSON.parse(readFileSync(join(profiles, file), "utf8")) as Event[];
  const n = events.filter((e) => e.cat === "Session" && e.name === "model_run").length;
  return events
    .filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"))
    .map((e) => ({
      node: e.name.slice(0, -"_kernel_time".length),
      op: e.args?.op_name ?? "",
      us: e.dur / n,
    }));
}
const sum = (rows: { us: number }[]) => rows.reduce((a, r) => a + r.us, 0);
const isProduct = (op: string) => /MatMul/.test(op);
const ms = (us: number) => (us / 1000).toFixed(3).padStart(8);
console.log(
  `${dir}: ${S} tokens, ${runs} runs; wall clock: embeddings and ${K} layer sessions ${median(wall.layers).toFixed(2)} ms, fused graph (all ${manifest.numExits} layers) ${median(wall.fused).toFixed(2)} ms`,
);
// Inside the fused graph, the matrix products keep their layer's name prefix; operators that
// onnxruntime fuses or merges across layers (GELU with its bias, the attention mask prepared
// once) lose it, so the rest is shown per layer on average.
const inFused = kernelsOf("fused").filter((k) => !k.node.startsWith("embeddings/"));
const fusedOtherPerLayer = sum(inFused.filter((k) => !isProduct(k.op))) / manifest.numExits;
console.log(
  "layer | own session: products  exit head  other  total | fused graph: products  other (mean)  total",
);
let totals = { own: 0, fused: 0 };
for (let k = 1; k <= K; k++) {
  const own = kernelsOf(`layer${k}`);
  const head = sum(own.filter((r) => /head/.test(r.node)));
  const products = sum(own.filter((r) => isProduct(r.op) && !/head/.test(r.node)));
  const other = sum(own) - head - products;
  const fusedProducts = sum(
    inFused.filter((r) => isProduct(r.op) && r.node.startsWith(`layer_${k}/`)),
  );
  totals = { own: totals.own + sum(own), fused: totals.fused + fusedProducts + fusedOtherPerLayer };
  console.log(
    `${String(k).padStart(5)} | ${ms(products)} ${ms(head)} ${ms(other)} ${ms(sum(own))} | ${ms(fusedProducts)} ${ms(fusedOtherPerLayer)} ${ms(fusedProducts + fusedOtherPerLayer)}`,
  );
}
console.log(
  `kernel time of the ${K} layers: ${(totals.own / 1000).toFixed(2)} ms in their own sessions, ${(totals.fused / 1000).toFixed(2)} ms inside the fused graph`,
);
rmSync(profiles, { recursive: true, force: true });
