// One sequence's decoder caches. A token that exits at layer k leaves layers k+1..L without
// its keys/values; its exit hidden state is copied upwards (as CALM does) and the missing
// keys/values are computed from it, deferred until a later token reaches that layer, then for
// all pending positions in one run of the layer's kv graph.
import { ort } from "@beem-ts/onnx";
import type { CaptionModel, KeyValue } from "./caption-model.js";

function concatPositions(a: ort.Tensor, b: ort.Tensor): ort.Tensor {
  // [1, H, Ta, Dh] + [1, H, Tb, Dh] -> [1, H, Ta + Tb, Dh]
  const [, heads, ta, dh] = a.dims as [number, number, number, number];
  const tb = b.dims[2]!;
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  const out = new Float32Array(heads * (ta + tb) * dh);
  for (let h = 0; h < heads; h++) {
    out.set(x.subarray(h * ta * dh, (h + 1) * ta * dh), h * (ta + tb) * dh);
    out.set(y.subarray(h * tb * dh, (h + 1) * tb * dh), h * (ta + tb) * dh + ta * dh);
  }
  return new ort.Tensor("float32", out, [1, heads, ta + tb, dh]);
}

export class SequenceCache {
  readonly #model: CaptionModel;
  readonly #memory: ort.Tensor;
  readonly #self: KeyValue[];
  readonly #cross: (KeyValue | undefined)[];
  readonly #pending: Float32Array[][];

  constructor(model: CaptionModel, memory: ort.Tensor) {
    const m = model.manifest;
    const empty = () => new ort.Tensor("float32", new Float32Array(0), [1, m.heads, 0, m.headDim]);
    this.#model = model;
    this.#memory = memory;
    this.#self = Array.from({ length: m.numExits }, () => ({ key: empty(), value: empty() }));
    this.#cross = new Array<KeyValue | undefined>(m.numExits).fill(undefined);
    this.#pending = Array.from({ length: m.numExits }, () => []);
  }

  /** Layers whose cross-attention keys/values were computed (only those reached). */
  get crossComputed(): number {
    return this.#cross.filter((c) => c !== undefined).length;
  }

  /** Cross-attention keys/values of a layer, computed once per image on first use. */
  async cross(layer: number): Promise<KeyValue> {
    let kv = this.#cross[layer];
    if (kv === undefined) {
      kv = await this.#model.crossKv(layer, this.#memory);
      this.#cross[layer] = kv;
    }
    return kv;
  }

  /** The layer's past keys/values, with any pending positions filled first. */
  async past(layer: number): Promise<KeyValue> {
    const pending = this.#pending[layer]!;
    if (pending.length > 0) {
      const d = this.#model.manifest.hiddenSize;
      const hidden = new Float32Array(pending.length * d);
      pending.forEach((h, i) => hidden.set(h, i * d));
      const filled = await this.#model.selfKv(
        layer,
        new ort.Tensor("float32", hidden, [1, pending.length, d]),
      );
      const cached = this.#self[layer]!;
      this.#self[layer] = {
        key: concatPositions(cached.key, filled.key),
        value: concatPositions(cached.value, filled.value),
      };
      this.#pending[layer] = [];
    }
    return this.#self[layer]!;
  }

  /** Stores a step's present keys/values (past plus this position). */
  update(layer: number, present: KeyValue): void {
    this.#self[layer] = present;
  }

  /** The token exited at `layer` (0-based): layers above get its hidden state, to fill later. */
  skipAbove(layer: number, hidden: ort.Tensor): void {
    const h = Float32Array.from(hidden.data as Float32Array);
    for (let j = layer + 1; j < this.#pending.length; j++) this.#pending[j]!.push(h);
  }
}
