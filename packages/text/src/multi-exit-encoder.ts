// The bundle's graphs: embeddings, then one graph per layer fused with its exit head.
import { join } from "node:path";
import { BeemError } from "@beem-ts/core";
import { readTextManifest, type TextManifest } from "./manifest.js";
import { createSession, ort, type SessionOptions } from "@beem-ts/onnx";

export interface LayerOutput {
  /** Hidden states after the layer: batch x sequence x hidden. */
  readonly hidden: ort.Tensor;
  /** The exit head's logits: batch x labels, row-major. */
  readonly logits: Float32Array;
}

/** Runs a multi-exit encoder bundle one layer at a time. */
export class MultiExitEncoder {
  readonly manifest: TextManifest;
  readonly #embeddings: ort.InferenceSession;
  readonly #layers: readonly ort.InferenceSession[];
  #disposed = false;

  private constructor(
    manifest: TextManifest,
    embeddings: ort.InferenceSession,
    layers: ort.InferenceSession[],
  ) {
    this.manifest = manifest;
    this.#embeddings = embeddings;
    this.#layers = layers;
  }

  static async load(dir: string, options: SessionOptions = {}): Promise<MultiExitEncoder> {
    const manifest = await readTextManifest(dir);
    const embeddings = await createSession(join(dir, manifest.graphs.embeddings.file), options);
    const layers: ort.InferenceSession[] = [];
    for (const g of manifest.graphs.layers)
      layers.push(await createSession(join(dir, g.file), options));
    return new MultiExitEncoder(manifest, embeddings, layers);
  }

  get numExits(): number {
    return this.#layers.length;
  }

  #checkOpen(): void {
    if (this.#disposed) throw new BeemError("MODEL_DISPOSED", "This model was disposed");
  }

  /** Token ids (batch x sequence, row-major) to the first hidden states. */
  async embed(ids: BigInt64Array, batch: number, sequence: number): Promise<ort.Tensor> {
    this.#checkOpen();
    const g = this.manifest.graphs.embeddings;
    const out = await this.#embeddings.run({
      [g.inputs[0]!]: new ort.Tensor("int64", ids, [batch, sequence]),
    });
    return out[g.outputs[0]!]!;
  }

  /** Runs layer `index` (0-based) and its exit head. */
  async layer(index: number, hidden: ort.Tensor, mask: ort.Tensor): Promise<LayerOutput> {
    this.#checkOpen();
    const g = this.manifest.graphs.layers[index]!;
    const out = await this.#layers[index]!.run({ [g.inputs[0]!]: hidden, [g.inputs[1]!]: mask });
    return { hidden: out[g.outputs[0]!]!, logits: out[g.outputs[1]!]!.data as Float32Array };
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.all([this.#embeddings, ...this.#layers].map((s) => s.release()));
  }
}

export function maskTensor(mask: BigInt64Array, batch: number, sequence: number): ort.Tensor {
  return new ort.Tensor("int64", mask, [batch, sequence]);
}
