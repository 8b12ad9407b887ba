// One decoder layer for several sequences at once: their pending keys/values and missing
// cross-attention keys/values first, then one run of the layer's step graph (with its exit
// head) for all of them. All sequences are at the same position (decoding runs in lockstep).
import type { ort } from "@beem-ts/onnx";
import type { CaptionModel } from "./caption-model.js";
import { CrossStacks, ensureCross, fillPending, type SequenceCache } from "./kv-cache.js";
import { splitRows, stackRows } from "./tensors.js";

export interface SequenceStep {
  /** The layer's output for the sequence's current position: 1 x 1 x D. */
  readonly hidden: ort.Tensor;
  /** The layer's exit head logits: vocabSize values. */
  readonly logits: Float32Array;
}

export async function stepLayer(
  model: CaptionModel,
  layer: number,
  caches: readonly SequenceCache[],
  hidden: readonly ort.Tensor[],
  stacks: CrossStacks = new CrossStacks(),
): Promise<SequenceStep[]> {
  await fillPending(model, layer, caches);
  await ensureCross(
    model,
    layer,
    caches.map((c) => c.image),
  );
  const past = caches.map((c) => c.pastAt(layer));
  const out = await model.step(
    layer,
    stackRows(hidden),
    { key: stackRows(past.map((p) => p.key)), value: stackRows(past.map((p) => p.value)) },
    stacks.get(
      layer,
      caches.map((c) => c.image),
    ),
  );
  const hiddenOut = splitRows(out.hidden);
  const keys = splitRows(out.key);
  const values = splitRows(out.value);
  const vocab = model.manifest.vocabSize;
  return caches.map((c, i) => {
    c.update(layer, { key: keys[i]!, value: values[i]! });
    return { hidden: hiddenOut[i]!, logits: out.logits.subarray(i * vocab, (i + 1) * vocab) };
  });
}
