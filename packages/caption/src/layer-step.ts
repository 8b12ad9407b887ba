// One decoder layer for several sequences at once: their pending keys/values and missing
// cross-attention keys/values first, then one run of the layer's step graph (with its exit
// head) for all of them. All sequences are at the same position (decoding runs in lockstep).
import type { ExitSummary } from "@beem-ts/core";
import type { ort } from "@beem-ts/runtime";
import type { CaptionModel } from "./caption-model.js";
import { CrossStacks, ensureCross, fillPending, type SequenceCache } from "./kv-cache.js";
import { splitRows, stackRows } from "./tensors.js";

export interface SequenceStep {
  /** The layer's output for the sequence's current position: 1 x 1 x D. */
  readonly hidden: ort.Tensor;
  /** The layer's exit summary: prediction, confidence, entropy. */
  readonly summary: ExitSummary;
  /** The layer's exit head logits (vocabSize values), when asked for. */
  readonly logits?: Float32Array;
}

export interface StepLayerOptions {
  /** Return each row's exit logits. Default false. */
  readonly logits?: boolean;
  /** Stacked cross-attention keys/values reused across positions. */
  readonly stacks?: CrossStacks;
}

/**
 * What a layer runs on: the hidden states of the layer below (1 x 1 x D per row), or, for the
 * first layer of a bundle whose first step embeds tokens itself, the rows' previous tokens.
 */
export type StepInput =
  | { readonly hidden: readonly ort.Tensor[] }
  | { readonly tokens: readonly number[]; readonly position: number };

export async function stepLayer(
  model: CaptionModel,
  layer: number,
  caches: readonly SequenceCache[],
  input: StepInput,
  options: StepLayerOptions = {},
): Promise<SequenceStep[]> {
  await fillPending(model, layer, caches);
  const images = caches.map((c) => c.image);
  await ensureCross(model, layer, images);
  const past = caches.map((c) => c.pastAt(layer));
  const pastKv = {
    key: stackRows(past.map((p) => p.key)),
    value: stackRows(past.map((p) => p.value)),
  };
  const cross = (options.stacks ?? new CrossStacks()).get(layer, images);
  const logits = { logits: options.logits === true };
  const out =
    "tokens" in input
      ? await model.embedStep(input.tokens, input.position, pastKv, cross, logits)
      : await model.step(layer, stackRows(input.hidden), pastKv, cross, logits);
  const hiddenOut = splitRows(out.hidden);
  const keys = splitRows(out.key);
  const values = splitRows(out.value);
  const vocab = model.headSize(layer);
  return caches.map((c, i) => {
    c.update(layer, { key: keys[i]!, value: values[i]! });
    return {
      hidden: hiddenOut[i]!,
      summary: out.summaries[i]!,
      ...(out.logits && { logits: out.logits.subarray(i * vocab, (i + 1) * vocab) }),
    };
  });
}
