// The layers a token skipped: a token that exits at layer k leaves layers k+1..L without
// self-attention keys/values for its position, yet later tokens attend to it. Both strategies
// copy the exit hidden state upwards, as CALM does (or map it, where the bundle has fill maps
// built into its `fillAbove` graphs), and compute those layers' keys/values from it; they
// differ in when:
// - "eager": at the exit, every skipped layer at once, in one run of the exit layer's
//   `fillAbove` graph for all the sequences that exited there together. Needs a bundle with
//   `fillAbove` graphs; without them it falls back to "deferred".
// - "deferred": when a later token first reaches a layer with positions pending, that layer and
//   every layer above it are filled for all pending positions (and all sequences waiting) in one
//   run of the `fillAbove` graph of the layer below (with fill maps, one run of each pending
//   position's own exit layer's graph); a bundle without those graphs fills one layer per run
//   with its `kv` graph. Positions no later token goes above never cost a run.
// With all thresholds at infinity no token skips a layer and both give full-depth decoding.
import type { ort } from "@beem-ts/runtime";
import type { CaptionModel } from "./caption-model.js";
import type { SequenceCache } from "./kv-cache.js";
import { splitRows, stackRows } from "./tensors.js";

export type SkippedLayerFill = "eager" | "deferred";

export const SKIPPED_LAYER_FILLS: readonly SkippedLayerFill[] = ["eager", "deferred"];

/** Default strategy: see the caption README for the measurements behind it. */
export const DEFAULT_SKIPPED_LAYER_FILL: SkippedLayerFill = "deferred";

export interface ExitedSequence {
  readonly cache: SequenceCache;
  /** The exit layer's output for the token: 1 x 1 x D. */
  readonly hidden: ort.Tensor;
}

/** Deals with the layers above `layer` (0-based) for sequences whose token exited there. */
export async function fillSkippedLayers(
  model: CaptionModel,
  strategy: SkippedLayerFill,
  layer: number,
  exited: readonly ExitedSequence[],
): Promise<void> {
  if (exited.length === 0 || layer === model.numExits - 1) return;
  if (strategy === "eager" && model.fillsInOneRun) {
    const filled = await model.fillAbove(layer, stackRows(exited.map((e) => e.hidden)));
    filled.forEach((kv, k) => {
      const keys = splitRows(kv.key);
      const values = splitRows(kv.value);
      exited.forEach((e, r) => e.cache.append(layer + 1 + k, { key: keys[r]!, value: values[r]! }));
    });
    return;
  }
  for (const e of exited) e.cache.skipAbove(layer, e.hidden.data as Float32Array);
}
