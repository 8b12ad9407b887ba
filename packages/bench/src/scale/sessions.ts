// What running each layer in its own onnxruntime session costs, apart from what the layers
// compute. Early exit runs the first k layer graphs (each with its exit head) in k sessions, so
// that it can stop between them; training/common/compose_layers.py composes the same graphs,
// node for node and on the same weights file, into one graph. Timing the k sessions in turn
// against the composed graph in one session, beside the fused full-depth graph, splits the gap
// between measured and counted speed-ups into what the graphs compute and what the sessions cost.
//
// Sessions created later in a process were measured to run up to 10% faster than the same graphs
// created earlier (the order of their weights in memory), so every graph is loaded twice, in
// the order split, composed, fused, composed, split, and each figure is the mean of its two.
import { join } from "node:path";
import { median } from "@beem-ts/core";
import { createSession, type ort } from "@beem-ts/runtime";
import { BenchError } from "../errors.js";
import { pairedSpeedup, timeSideBySide } from "../timing.js";
import { REPO_ROOT, python, runTool } from "../tools.js";

/**
 * The bundle's first k layers composed into one graph, written beside them (a small file: the
 * weights stay in the bundle's), anew on every run so that it always matches the script.
 */
export function composedGraph(bundle: string, k: number, log: (m: string) => void): string {
  runTool(
    `composing layers 1-${k} into one graph`,
    [python(), join(REPO_ROOT, "training", "common", "compose_layers.py"), bundle, String(k)],
    log,
  );
  return join(bundle, `composed_1-${k}.onnx`);
}

/** One task's way of running the graphs; outputs to compare come back in the same order. */
export interface SessionWork {
  readonly layerFiles: readonly string[];
  readonly composedFile: string;
  readonly fusedFile: string;
  /** The k layer sessions in turn, each fed the previous one's hidden states. */
  readonly split: (sessions: readonly ort.InferenceSession[]) => Promise<Float32Array[]>;
  readonly composed: (session: ort.InferenceSession) => Promise<Float32Array[]>;
  readonly fused: (session: ort.InferenceSession) => Promise<unknown>;
}

export interface SessionCost {
  readonly layer: number;
  /** The first `layer` layer graphs in their own sessions, in turn, ms per run-through. */
  readonly splitMs: number;
  /** The same graphs composed into one, in one session, ms per run. */
  readonly composedMs: number;
  /** (split - composed) / layer: what a layer's own session costs, ms. */
  readonly perSessionMs: number;
  /** Fused full depth against the layer sessions in turn, and against the composed graph. */
  readonly splitSpeedup: number;
  readonly composedSpeedup: number;
  /** Largest difference between the two ways' outputs (the same computation). */
  readonly maxAbsDifference: number;
}

function maxAbsDifference(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  if (a.length !== b.length)
    throw new BenchError("CHECK_FAILED", "bench-scale: split and composed outputs differ in count");
  let max = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.length !== y.length)
      throw new BenchError(
        "CHECK_FAILED",
        "bench-scale: split and composed outputs differ in size",
      );
    for (let j = 0; j < x.length; j++) max = Math.max(max, Math.abs(x[j]! - y[j]!));
  });
  return max;
}

/** Times `work` with `runs` run-throughs per pass and `repeats` passes (see the file's head). */
export async function sessionCost(
  layer: number,
  work: SessionWork,
  options: { repeats: number; runs: number },
): Promise<SessionCost> {
  const opened: ort.InferenceSession[] = [];
  const open = async (file: string) => {
    const session = await createSession(file);
    opened.push(session);
    return session;
  };
  const openLayers = async () => {
    const sessions: ort.InferenceSession[] = [];
    for (const file of work.layerFiles) sessions.push(await open(file));
    return sessions;
  };
  try {
    const splitA = await openLayers();
    const composedA = await open(work.composedFile);
    const fused = await open(work.fusedFile);
    const composedB = await open(work.composedFile);
    const splitB = await openLayers();
    const difference = maxAbsDifference(await work.split(splitA), await work.composed(composedA));
    const ms = await timeSideBySide(
      Array.from({ length: options.runs }, (_, i) => i),
      {
        splitA: () => work.split(splitA),
        composedA: () => work.composed(composedA),
        fused: () => work.fused(fused),
        composedB: () => work.composed(composedB),
        splitB: () => work.split(splitB),
      },
      { repeats: options.repeats, warmUp: true },
    );
    const mean = (a: number[], b: number[]) => a.map((t, r) => (t + b[r]!) / 2);
    const split = mean(ms.splitA, ms.splitB);
    const composed = mean(ms.composedA, ms.composedB);
    return {
      layer,
      splitMs: median(split) / options.runs,
      composedMs: median(composed) / options.runs,
      perSessionMs: median(split.map((t, r) => t - composed[r]!)) / options.runs / layer,
      splitSpeedup: pairedSpeedup(split, ms.fused),
      composedSpeedup: pairedSpeedup(composed, ms.fused),
      maxAbsDifference: difference,
    };
  } finally {
    await Promise.all(opened.map((s) => s.release()));
  }
}

/** The measurement in one line of the text report. */
export function sessionsLine(c: SessionCost & { readonly countedSpeedup: number }): string {
  return (
    `layers 1-${c.layer} in their own sessions ${c.splitMs.toFixed(2)} ms, composed into one graph ${c.composedMs.toFixed(2)} ms ` +
    `(${c.perSessionMs.toFixed(3)} ms a session); fused full depth against them: ${c.splitSpeedup.toFixed(2)}x and ${c.composedSpeedup.toFixed(2)}x (counted ${c.countedSpeedup.toFixed(2)}x)\n`
  );
}
