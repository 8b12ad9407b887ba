// The caption bundle's graphs, one onnxruntime-node session each.
import { join } from "node:path";
import { BeemError } from "@beem-ts/core";
import { createSession, ort, type SessionOptions } from "@beem-ts/onnx";
import { readCaptionManifest, type CaptionManifest } from "./manifest.js";

export interface KeyValue {
  readonly key: ort.Tensor;
  readonly value: ort.Tensor;
}

export interface StepOutput extends KeyValue {
  readonly hidden: ort.Tensor;
  /** Exit head logits for the position: vocabSize values (batch 1). */
  readonly logits: Float32Array;
}

interface LayerSessions {
  readonly step: ort.InferenceSession;
  readonly crossKv: ort.InferenceSession;
  readonly kv: ort.InferenceSession;
}

export class CaptionModel {
  readonly manifest: CaptionManifest;
  readonly #encoder: ort.InferenceSession;
  readonly #embed: ort.InferenceSession;
  readonly #layers: readonly LayerSessions[];
  #disposed = false;

  private constructor(
    manifest: CaptionManifest,
    encoder: ort.InferenceSession,
    embed: ort.InferenceSession,
    layers: LayerSessions[],
  ) {
    this.manifest = manifest;
    this.#encoder = encoder;
    this.#embed = embed;
    this.#layers = layers;
  }

  static async load(dir: string, options: SessionOptions = {}): Promise<CaptionModel> {
    const m = await readCaptionManifest(dir);
    const open = (file: string) => createSession(join(dir, file), options);
    const encoder = await open(m.graphs.encoder.file);
    const embed = await open(m.graphs.embed.file);
    const layers: LayerSessions[] = [];
    for (const l of m.graphs.layers)
      layers.push({
        step: await open(l.step),
        crossKv: await open(l.crossKv),
        kv: await open(l.kv),
      });
    return new CaptionModel(m, encoder, embed, layers);
  }

  get numExits(): number {
    return this.#layers.length;
  }

  #check(): void {
    if (this.#disposed) throw new BeemError("MODEL_DISPOSED", "This model was disposed");
  }

  /** pixel_values (3 x S x S) of one image to the image memory (1 x M x D). */
  async encode(pixels: Float32Array): Promise<ort.Tensor> {
    this.#check();
    const s = this.manifest.image.size;
    const out = await this.#encoder.run({
      pixel_values: new ort.Tensor("float32", pixels, [1, 3, s, s]),
    });
    return out.memory!;
  }

  async crossKv(layer: number, memory: ort.Tensor): Promise<KeyValue> {
    this.#check();
    const out = await this.#layers[layer]!.crossKv.run({ memory });
    return { key: out.cross_key!, value: out.cross_value! };
  }

  async embed(token: number, position: number): Promise<ort.Tensor> {
    this.#check();
    const out = await this.#embed.run({
      input_ids: new ort.Tensor("int64", BigInt64Array.of(BigInt(token)), [1, 1]),
      position_ids: new ort.Tensor("int64", BigInt64Array.of(BigInt(position)), [1, 1]),
    });
    return out.hidden!;
  }

  /** Self-attention keys/values of layer `layer` for hidden states (1 x P x D). */
  async selfKv(layer: number, hidden: ort.Tensor): Promise<KeyValue> {
    this.#check();
    const out = await this.#layers[layer]!.kv.run({ hidden });
    return { key: out.key!, value: out.value! };
  }

  async step(
    layer: number,
    hidden: ort.Tensor,
    past: KeyValue,
    cross: KeyValue,
  ): Promise<StepOutput> {
    this.#check();
    const out = await this.#layers[layer]!.step.run({
      hidden,
      past_key: past.key,
      past_value: past.value,
      cross_key: cross.key,
      cross_value: cross.value,
    });
    return {
      hidden: out.hidden_out!,
      key: out.present_key!,
      value: out.present_value!,
      logits: out.logits!.data as Float32Array,
    };
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const sessions = [
      this.#encoder,
      this.#embed,
      ...this.#layers.flatMap((l) => [l.step, l.crossKv, l.kv]),
    ];
    await Promise.all(sessions.map((s) => s.release()));
  }
}
