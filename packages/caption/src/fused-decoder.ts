// Full depth as a conventional decoder runs it: per position, one run of the bundle's fused step
// graph (embeddings, every layer, only the last exit head) for all the sequences still running.
// The past keys/values stay batch-wide as the graph returns them; rows leave when their
// sequence ends. The baseline every early-exit speed-up divides by.
import type { CaptionModel, KeyValue } from "./caption-model.js";
import type { SequenceToken } from "./greedy-decoder.js";
import type { ImageMemory } from "./kv-cache.js";
import { ort } from "@beem-ts/runtime";
import { RepeatGuard } from "./repeat-block.js";
import { stackRows, takeRows } from "./tensors.js";

/** Greedy full-depth captions of the images, yielding each position's tokens like decodeGreedy. */
export async function* decodeFused(
  model: CaptionModel,
  images: readonly ImageMemory[],
  options: {
    readonly maxTokens: number;
    readonly noRepeatNgram?: number;
    readonly maxRun?: number;
  },
): AsyncGenerator<SequenceToken[]> {
  const { bos, eos } = model.manifest.tokens;
  const { heads, headDim, numExits } = model.manifest;
  const empty = new ort.Tensor("float32", new Float32Array(0), [images.length, heads, 0, headDim]);
  let past: readonly KeyValue[] = Array.from({ length: numExits }, () => ({
    key: empty,
    value: empty,
  }));
  let cross: readonly KeyValue[] = Array.from({ length: numExits }, (_, layer) => {
    const kv = images.map((m) => m.crossAt(layer)!);
    return { key: stackRows(kv.map((c) => c.key)), value: stackRows(kv.map((c) => c.value)) };
  });
  const guard = new RepeatGuard(options, images.length);
  const vocab = model.manifest.vocabSize;
  let active = images.map((_, i) => i);
  let previous = images.map(() => bos);
  for (let index = 0; index < options.maxTokens && active.length > 0; index++) {
    const out = await model.fullStep(previous, index, past, cross, { logits: guard.limited });
    const tokens = out.summaries.map((s, row) => {
      const swap = guard.take(active[row]!, s.prediction, () => ({
        logits: out.logits!.subarray(row * vocab, (row + 1) * vocab),
      }));
      const id = swap?.id ?? s.prediction;
      const confidence = swap?.probability ?? s.confidence;
      const token = { id, exitLayer: numExits, confidence, end: id === eos };
      return { sequence: active[row]!, token };
    });
    yield tokens;
    const keep = tokens.flatMap((t, row) => (t.token.end ? [] : [row]));
    const select = (kv: KeyValue) => ({
      key: takeRows(kv.key, keep),
      value: takeRows(kv.value, keep),
    });
    past = out.present.map(select);
    if (keep.length < active.length) cross = cross.map(select);
    active = keep.map((row) => active[row]!);
    previous = keep.map((row) => tokens[row]!.token.id);
  }
}
