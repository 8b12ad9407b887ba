// The bundle's graphs: embeddings, then one graph per layer fused with its exit head; and, where
// the bundle has it, the whole encoder with only the last head in one graph (full depth as a
// conventional classifier runs it).
import { join } from "node:path";
import { BeemError } from "@beem-ts/core";
import { readTextManifest, type GraphSpec, type TextManifest } from "./manifest.js";
import { createSession, ort, requireGraphNames, type SessionOptions } from "@beem-ts/runtime";

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
  readonly #fused: ort.InferenceSession | undefined;
  #disposed = false;

  private constructor(
    manifest: TextManifest,
    embeddings: ort.InferenceSession,
    layers: ort.InferenceSession[],
    fused: ort.InferenceSession | undefined,
  ) {
    this.manifest = manifest;
    this.#embeddings = embeddings;
    this.#layers = layers;
    this.#fused = fused;
  }

  static async load(dir: string, options: SessionOptions = {}): Promise<MultiExitEncoder> {
    const manifest = await readTextManifest(dir);
    const sessions: ort.InferenceSession[] = [];
    const open = async (g: GraphSpec) => {
      const session = await createSession(join(dir, g.file), options);
      sessions.push(session);
      requireGraphNames(session, g, join(dir, g.file));
      return session;
    };
    try {
      const embeddings = await open(manifest.graphs.embeddings);
      const layers: ort.InferenceSession[] = [];
      for (const g of manifest.graphs.layers) layers.push(await open(g));
      const fused = manifest.graphs.fused && (await open(manifest.graphs.fused));
      return new MultiExitEncoder(manifest, embeddings, layers, fused);
    } catch (error) {
      await Promise.all(sessions.map((s) => s.release()));
      throw error;
    }
  }

  /** Whether full depth runs as one fused graph (else layer by layer). */
  get fused(): boolean {
    return this.#fused !== undefined;
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

  /** Full depth in one run of the fused graph: the last exit's logits, batch x labels. */
  async full(ids: ort.Tensor, mask: ort.Tensor): Promise<Float32Array> {
    this.#checkOpen();
    const g = this.manifest.graphs.fused;
    if (this.#fused === undefined || g === undefined)
      throw new BeemError("INVALID_ARGUMENT", "The bundle has no fused full-depth graph");
    const out = await this.#fused.run({ [g.inputs[0]!]: ids, [g.inputs[1]!]: mask });
    return out[g.outputs[0]!]!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const sessions = [this.#embeddings, ...this.#layers, ...(this.#fused ? [this.#fused] : [])];
    await Promise.all(sessions.map((s) => s.release()));
  }
}

export function maskTensor(mask: BigInt64Array, batch: number, sequence: number): ort.Tensor {
  return new ort.Tensor("int64", mask, [batch, sequence]);
}
