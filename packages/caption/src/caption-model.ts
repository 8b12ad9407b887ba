// The caption bundle's graphs, one onnxruntime-node session each: the per-layer graphs early exit
// runs one by one, and (where the bundle has them) the fused graphs full depth runs in one go.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { BeemError, softmax, summarize, type ExitSummary } from "@beem-ts/core";
import {
  bundleError,
  createSession,
  ort,
  readBundleJson,
  requireGraphNames,
  type SessionOptions,
} from "@beem-ts/runtime";
import { readCaptionManifest, type CaptionManifest } from "./manifest.js";

export interface KeyValue {
  readonly key: ort.Tensor;
  readonly value: ort.Tensor;
}

export interface StepOutput extends KeyValue {
  readonly hidden: ort.Tensor;
  /** Each row's exit summary (prediction, confidence, entropy of the exit's soft-max). */
  readonly summaries: readonly ExitSummary[];
  /** Exit head logits, vocabSize values per row: only when asked for. */
  readonly logits?: Float32Array;
}

export interface FullStepOutput {
  /** The last exit's summary per row. */
  readonly summaries: readonly ExitSummary[];
  /** The last exit's logits, vocabSize values per row: only when asked for. */
  readonly logits?: Float32Array;
  /** Every layer's present keys/values (past plus this position), batch-wide. */
  readonly present: readonly KeyValue[];
}

export interface CaptionModelOptions extends SessionOptions {
  /** Threads for the image encoder. Default: 2, or 1 on a single-core machine. */
  readonly encoderThreads?: number;
}

interface LayerSessions {
  readonly step: ort.InferenceSession;
  /** The token ids a shortlist exit head scores (its logits follow this order), or undefined. */
  readonly shortlist: Int32Array | undefined;
  readonly crossKv: ort.InferenceSession;
  readonly kv: ort.InferenceSession;
  readonly fillAbove: ort.InferenceSession | undefined;
  /** The step graph computes its exit summary itself. */
  readonly summarizes: boolean;
}

interface FusedSessions {
  readonly step: ort.InferenceSession;
  readonly crossKv: ort.InferenceSession;
}

const SUMMARY = ["prediction", "confidence", "entropy"] as const;

export class CaptionModel {
  readonly manifest: CaptionManifest;
  readonly #encoder: ort.InferenceSession;
  readonly #embed: ort.InferenceSession;
  readonly #layers: readonly LayerSessions[];
  readonly #fused: FusedSessions | undefined;
  readonly #embedStep: ort.InferenceSession | undefined;
  #disposed = false;

  private constructor(
    manifest: CaptionManifest,
    encoder: ort.InferenceSession,
    embed: ort.InferenceSession,
    layers: LayerSessions[],
    fused: FusedSessions | undefined,
    embedStep: ort.InferenceSession | undefined,
  ) {
    this.manifest = manifest;
    this.#encoder = encoder;
    this.#embed = embed;
    this.#layers = layers;
    this.#fused = fused;
    this.#embedStep = embedStep;
  }

  static async load(dir: string, options: CaptionModelOptions = {}): Promise<CaptionModel> {
    const m = await readCaptionManifest(dir);
    const { encoderThreads, ...sessionOptions } = options;
    const sessions: ort.InferenceSession[] = [];
    // Layers usually share one shortlist file: read and checked once.
    const shortlists = new Map<string, Promise<Int32Array>>();
    const shortlist = (file: string) => {
      let ids = shortlists.get(file);
      if (ids === undefined) shortlists.set(file, (ids = readShortlist(dir, file, m.vocabSize)));
      return ids;
    };
    const open = async (
      file: string,
      names: { inputs: readonly string[]; outputs: readonly string[] },
      threads?: SessionOptions,
    ) => {
      const session = await createSession(join(dir, file), threads ?? sessionOptions);
      sessions.push(session);
      requireGraphNames(session, names, join(dir, file));
      return session;
    };
    try {
      // The encoder is one large run per image: two threads (without spinning) cut it from about
      // 2.25 to 1.6 ms on the development machine; the small per-layer graphs stay on one.
      const encoder = await open(
        m.graphs.encoder.file,
        { inputs: ["pixel_values"], outputs: ["memory"] },
        { intraOpThreads: encoderThreads ?? Math.min(2, availableParallelism()) },
      );
      const embed = await open(m.graphs.embed.file, {
        inputs: ["input_ids", "position_ids"],
        outputs: ["hidden"],
      });
      const L = m.numExits;
      const layers: LayerSessions[] = [];
      for (const [i, l] of m.graphs.layers.entries()) {
        const step = await open(l.step, {
          inputs: ["hidden", "past_key", "past_value", "cross_key", "cross_value"],
          outputs: ["hidden_out", "present_key", "present_value", "logits"],
        });
        const above = Array.from({ length: L - i - 1 }, (_, k) => i + k + 2);
        layers.push({
          step,
          shortlist: l.shortlist === undefined ? undefined : await shortlist(l.shortlist),
          crossKv: await open(l.crossKv, {
            inputs: ["memory"],
            outputs: ["cross_key", "cross_value"],
          }),
          kv: await open(l.kv, { inputs: ["hidden"], outputs: ["key", "value"] }),
          fillAbove:
            l.fillAbove === undefined
              ? undefined
              : await open(l.fillAbove, {
                  inputs: ["hidden"],
                  outputs: above.flatMap((j) => [`key_${j}`, `value_${j}`]),
                }),
          summarizes: SUMMARY.every((name) => step.outputNames.includes(name)),
        });
      }
      const f = m.graphs.fused;
      const perLayer = (names: readonly string[]) =>
        Array.from({ length: L }, (_, i) => names.map((n) => `${n}_${i + 1}`)).flat();
      const fused =
        f === undefined
          ? undefined
          : {
              step: await open(f.step, {
                inputs: [
                  "input_ids",
                  "position_ids",
                  ...perLayer(["past_key", "past_value", "cross_key", "cross_value"]),
                ],
                outputs: ["logits", ...SUMMARY, ...perLayer(["present_key", "present_value"])],
              }),
              crossKv: await open(f.crossKv, {
                inputs: ["memory"],
                outputs: perLayer(["cross_key", "cross_value"]),
              }),
            };
      const embedStep =
        m.graphs.embedStep === undefined
          ? undefined
          : await open(m.graphs.embedStep, {
              inputs: [
                "input_ids",
                "position_ids",
                "past_key",
                "past_value",
                "cross_key",
                "cross_value",
              ],
              outputs: ["hidden_out", "present_key", "present_value", ...SUMMARY],
            });
      return new CaptionModel(m, encoder, embed, layers, fused, embedStep);
    } catch (error) {
      await Promise.all(sessions.map((s) => s.release()));
      throw error;
    }
  }

  get numExits(): number {
    return this.#layers.length;
  }

  /**
   * The token ids layer `layer`'s exit head scores, in the order of its logits, when it is a
   * shortlist head; undefined when it scores the whole vocabulary.
   */
  exitTokens(layer: number): Int32Array | undefined {
    return this.#layers[layer]?.shortlist;
  }

  /** How many logits layer `layer`'s exit head gives per row. */
  headSize(layer: number): number {
    return this.exitTokens(layer)?.length ?? this.manifest.vocabSize;
  }

  /** Whether full depth runs as one fused step graph (else layer by layer). */
  get fused(): boolean {
    return this.#fused !== undefined;
  }

  /** Whether the first layer's step embeds the tokens itself (`embedStep`). */
  get embedsInFirstStep(): boolean {
    return this.#embedStep !== undefined;
  }

  /**
   * Whether a token's skipped layers are filled by its own exit layer's `fillAbove` graph only
   * (the bundle has learned fills, `graphs.fillMaps`), not by any graph below them.
   */
  get fillDependsOnExit(): boolean {
    return (this.manifest.graphs.fillMaps?.length ?? 0) > 0;
  }

  /** Whether a token's skipped layers can be filled in one run (`fillAbove` graphs). */
  get fillsInOneRun(): boolean {
    return this.#layers.slice(0, -1).every((l) => l.fillAbove !== undefined);
  }

  #check(): void {
    if (this.#disposed) throw new BeemError("MODEL_DISPOSED", "This model was disposed");
  }

  /** pixel_values (3 x S x S each) of n images to their image memories (n x M x D). */
  async encode(images: readonly Float32Array[]): Promise<ort.Tensor> {
    this.#check();
    const s = this.manifest.image.size;
    const batch = new Float32Array(images.length * 3 * s * s);
    images.forEach((pixels, i) => batch.set(pixels, i * 3 * s * s));
    const out = await this.#encoder.run({
      pixel_values: new ort.Tensor("float32", batch, [images.length, 3, s, s]),
    });
    return out.memory!;
  }

  async crossKv(layer: number, memory: ort.Tensor): Promise<KeyValue> {
    this.#check();
    const out = await this.#layers[layer]!.crossKv.run({ memory });
    return { key: out.cross_key!, value: out.cross_value! };
  }

  /**
   * Every layer's cross-attention keys/values (n x heads x M x headDim each): one run of the
   * fused graph where the bundle has one, else one run per layer.
   */
  async crossKvAll(memory: ort.Tensor): Promise<KeyValue[]> {
    this.#check();
    if (this.#fused === undefined)
      return Promise.all(this.#layers.map((_, i) => this.crossKv(i, memory)));
    const out = await this.#fused.crossKv.run({ memory });
    return this.#layers.map((_, i) => ({
      key: out[`cross_key_${i + 1}`]!,
      value: out[`cross_value_${i + 1}`]!,
    }));
  }

  /** Embeddings (n x 1 x D) of one token per row, all at the same position. */
  async embed(tokens: readonly number[], position: number): Promise<ort.Tensor> {
    this.#check();
    const out = await this.#embed.run(tokenFeeds(tokens, position));
    return out.hidden!;
  }

  /** Self-attention keys/values of layer `layer` for hidden states (n x P x D). */
  async selfKv(layer: number, hidden: ort.Tensor): Promise<KeyValue> {
    this.#check();
    const out = await this.#layers[layer]!.kv.run({ hidden });
    return { key: out.key!, value: out.value! };
  }

  /**
   * Self-attention keys/values of every layer above `layer` for hidden states (n x P x D) that
   * exited at `layer`, in one run: index 0 is layer `layer + 1`. Needs `fillsInOneRun`.
   */
  async fillAbove(layer: number, hidden: ort.Tensor): Promise<KeyValue[]> {
    this.#check();
    const session = this.#layers[layer]?.fillAbove;
    if (session === undefined)
      throw new BeemError("INVALID_ARGUMENT", `Layer ${layer + 1} has no fillAbove graph`);
    const out = await session.run({ hidden });
    return Array.from({ length: this.numExits - layer - 1 }, (_, k) => ({
      key: out[`key_${layer + k + 2}`]!,
      value: out[`value_${layer + k + 2}`]!,
    }));
  }

  /**
   * One position through layer `layer` and its exit head for n rows. The exit's summary comes
   * from the graph where it computes one (the logits then stay inside unless `logits` is set).
   */
  async step(
    layer: number,
    hidden: ort.Tensor,
    past: KeyValue,
    cross: KeyValue,
    options: { logits?: boolean } = {},
  ): Promise<StepOutput> {
    this.#check();
    const sessions = this.#layers[layer]!;
    return this.#runStep(
      sessions.step,
      sessions.summarizes,
      sessions.shortlist,
      { hidden },
      past,
      cross,
      options,
    );
  }

  /**
   * The first layer's step for tokens at one position, embedding included, in one run. Needs
   * `embedsInFirstStep`.
   */
  async embedStep(
    tokens: readonly number[],
    position: number,
    past: KeyValue,
    cross: KeyValue,
    options: { logits?: boolean } = {},
  ): Promise<StepOutput> {
    this.#check();
    if (this.#embedStep === undefined)
      throw new BeemError("INVALID_ARGUMENT", "The bundle has no embedStep graph");
    const feeds = tokenFeeds(tokens, position);
    const shortlist = this.#layers[0]!.shortlist;
    return this.#runStep(this.#embedStep, true, shortlist, feeds, past, cross, options);
  }

  async #runStep(
    session: ort.InferenceSession,
    summarizes: boolean,
    shortlist: Int32Array | undefined,
    input: Record<string, ort.Tensor>,
    past: KeyValue,
    cross: KeyValue,
    options: { logits?: boolean },
  ): Promise<StepOutput> {
    const wantLogits = options.logits === true || !summarizes;
    const fetches = ["hidden_out", "present_key", "present_value"];
    if (summarizes) fetches.push(...SUMMARY);
    if (wantLogits) fetches.push("logits");
    const out = await session.run(
      {
        ...input,
        past_key: past.key,
        past_value: past.value,
        cross_key: cross.key,
        cross_value: cross.value,
      },
      fetches,
    );
    const logits = wantLogits ? (out.logits!.data as Float32Array) : undefined;
    return {
      hidden: out.hidden_out!,
      key: out.present_key!,
      value: out.present_value!,
      summaries: summarizes
        ? readSummaries(out)
        : jsSummaries(logits!, shortlist?.length ?? this.manifest.vocabSize, shortlist),
      ...(options.logits === true && { logits: logits! }),
    };
  }

  /**
   * One position at full depth in one run of the fused step graph: every layer, only the last
   * exit head. `past` and `cross` hold each layer's batch-wide keys/values.
   */
  async fullStep(
    tokens: readonly number[],
    position: number,
    past: readonly KeyValue[],
    cross: readonly KeyValue[],
    options: { logits?: boolean } = {},
  ): Promise<FullStepOutput> {
    this.#check();
    if (this.#fused === undefined)
      throw new BeemError("INVALID_ARGUMENT", "The bundle has no fused full-depth graph");
    const feeds: Record<string, ort.Tensor> = tokenFeeds(tokens, position);
    for (let i = 0; i < this.numExits; i++) {
      feeds[`past_key_${i + 1}`] = past[i]!.key;
      feeds[`past_value_${i + 1}`] = past[i]!.value;
      feeds[`cross_key_${i + 1}`] = cross[i]!.key;
      feeds[`cross_value_${i + 1}`] = cross[i]!.value;
    }
    const fetches: string[] = [...SUMMARY];
    if (options.logits === true) fetches.push("logits");
    for (let i = 1; i <= this.numExits; i++) fetches.push(`present_key_${i}`, `present_value_${i}`);
    const out = await this.#fused.step.run(feeds, fetches);
    return {
      summaries: readSummaries(out),
      ...(options.logits === true && { logits: out.logits!.data as Float32Array }),
      present: this.#layers.map((_, i) => ({
        key: out[`present_key_${i + 1}`]!,
        value: out[`present_value_${i + 1}`]!,
      })),
    };
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const sessions = [
      this.#encoder,
      this.#embed,
      ...this.#layers.flatMap((l) => [
        l.step,
        l.crossKv,
        l.kv,
        ...(l.fillAbove ? [l.fillAbove] : []),
      ]),
      ...(this.#fused ? [this.#fused.step, this.#fused.crossKv] : []),
      ...(this.#embedStep ? [this.#embedStep] : []),
    ];
    await Promise.all(sessions.map((s) => s.release()));
  }
}

function tokenFeeds(tokens: readonly number[], position: number): Record<string, ort.Tensor> {
  const n = tokens.length;
  return {
    input_ids: new ort.Tensor("int64", BigInt64Array.from(tokens, BigInt), [n, 1]),
    position_ids: new ort.Tensor("int64", new BigInt64Array(n).fill(BigInt(position)), [n, 1]),
  };
}

function readSummaries(out: ort.InferenceSession.ReturnType): ExitSummary[] {
  const prediction = out.prediction!.data as BigInt64Array;
  const confidence = out.confidence!.data as Float32Array;
  const entropy = out.entropy!.data as Float32Array;
  return Array.from(prediction, (p, i) => ({
    prediction: Number(p),
    confidence: confidence[i]!,
    entropy: entropy[i]!,
  }));
}

function jsSummaries(
  logits: Float32Array,
  width: number,
  shortlist: Int32Array | undefined,
): ExitSummary[] {
  return Array.from({ length: logits.length / width }, (_, i) => {
    const s = summarize(softmax(logits.subarray(i * width, (i + 1) * width)));
    return shortlist === undefined ? s : { ...s, prediction: shortlist[s.prediction]! };
  });
}

/** A layer's shortlist: a JSON array of distinct token ids below the vocabulary size. */
async function readShortlist(dir: string, file: string, vocab: number): Promise<Int32Array> {
  const ids = await readBundleJson(dir, file, "shortlist");
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    !ids.every((id) => Number.isInteger(id) && id >= 0 && id < vocab) ||
    new Set(ids).size !== ids.length
  )
    throw bundleError(
      `${join(dir, file)}: a shortlist must be a non-empty JSON array of distinct token ids below ${vocab}`,
    );
  return Int32Array.from(ids as number[]);
}
