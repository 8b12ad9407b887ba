// The public captioner: load a bundle, caption images with per-token early exit, dispose.
import {
  BeemError,
  checkFiniteNumber,
  checkInteger,
  checkOneOf,
  createDecider,
  meanExitLayer,
  type Policy,
  type PolicyChoice,
  type SummarizedSample,
} from "@beem-ts/core";
import {
  BundlePolicies,
  loadTokenizer,
  textsOfTokens,
  tokenTexts,
  type PreTrainedTokenizer,
  type RuntimeOptions,
} from "@beem-ts/runtime";
import { decodeBeams } from "./beam-decoder.js";
import { CaptionModel, type CaptionModelOptions } from "./caption-model.js";
import { decodeFused } from "./fused-decoder.js";
import { decodeGreedy, type GeneratedToken, type SequenceToken } from "./greedy-decoder.js";
import {
  DEFAULT_SKIPPED_LAYER_FILL,
  SKIPPED_LAYER_FILLS,
  type SkippedLayerFill,
} from "./skipped-layers.js";
import { imageToPixels, PreparedImage, type ImageInput, type ImageOptions } from "./image-input.js";
import { ImageMemory, SequenceCache } from "./kv-cache.js";
import { splitRows } from "./tensors.js";

export type CaptionerLoadOptions = CaptionModelOptions & ImageOptions;

/**
 * The policy choice and `layerByLayer` (`RuntimeOptions`), and the captioner's own options. Full
 * depth runs the fused step graph (one run per token, only the last head) unless `layerByLayer`
 * or `trace` is set or beams are searched.
 */
export interface CaptionOptions extends RuntimeOptions {
  /**
   * How the layers a token skipped get their keys/values: "eager" (at the exit, all at once)
   * or "deferred" (when a later token reaches the layer). Default "deferred".
   */
  readonly fill?: SkippedLayerFill;
  /** Most tokens to generate. Default: the bundle's maximum length. */
  readonly maxTokens?: number;
  /** Keep every computed exit's decision per token (greedy decoding only). Default false. */
  readonly trace?: boolean;
  /** Beam width; 1 decodes greedily. Default 1. */
  readonly beams?: number;
  /** Beam search ranks finished captions by log-probability / length^lengthPenalty. Default 1. */
  readonly lengthPenalty?: number;
  /**
   * Decoding (early exit and full depth alike) never repeats an n-gram of this size (Hugging
   * Face's `no_repeat_ngram_size`): greedy decoding replaces a token that would by its exit's best
   * token that would not; beam search gives it no candidate. 0: off. Default: the bundle's
   * `generation.noRepeatNgram`, else 0.
   */
  readonly noRepeatNgram?: number;
  /**
   * Decoding never gives one token more than this many times in a row ("large large large"),
   * kept out as `noRepeatNgram` is. 0: no limit. Default: the bundle's `generation.maxRun`,
   * else 0.
   */
  readonly maxRun?: number;
}

/** Most beams accepted. */
export const MAX_BEAMS = 16;

export interface CaptionToken extends Omit<GeneratedToken, "end" | "summaries"> {
  readonly text: string;
}

export interface CaptionResult {
  readonly text: string;
  readonly tokens: readonly CaptionToken[];
  /**
   * The exit layer of every decided token: those of `tokens`, then the end token's when the
   * caption ended with one (not when it was cut at `maxTokens`).
   */
  readonly exitLayers: readonly number[];
  /**
   * The end token's exit layer when the caption ended with one (it costs layers like any token,
   * so it counts in `meanExitLayer`); null when the caption was cut at `maxTokens`.
   */
  readonly endExitLayer: number | null;
  /** Mean of `exitLayers`, end token included (`meanExitLayer` in the core). */
  readonly meanExitLayer: number;
  /** Layers whose cross-attention keys/values were computed for this image. */
  readonly crossLayers: number;
  /**
   * Wall-clock times; for `captionBatch`, those of the whole batch. `imageMs` is the time spent
   * decoding images in this call (about 0 for prepared images).
   */
  readonly timings: {
    readonly imageMs: number;
    readonly encoderMs: number;
    readonly decodeMs: number;
    readonly totalMs: number;
  };
}

/** One image's outcome in a batch: its caption, or why it could not be captioned. */
export type BatchCaption =
  | { readonly ok: true; readonly result: CaptionResult }
  | { readonly ok: false; readonly error: BeemError };

interface Resolved {
  readonly policy: Policy;
  /** Full depth through the fused step graph. */
  readonly fused: boolean;
  readonly fill: SkippedLayerFill;
  readonly maxTokens: number;
  readonly beams: number;
  readonly lengthPenalty: number;
  readonly trace: boolean;
  readonly noRepeatNgram: number;
  readonly maxRun: number;
}

interface Decoded {
  readonly tokens: GeneratedToken[][];
  readonly images: ImageMemory[];
  readonly encoderMs: number;
}

export class Captioner {
  readonly model: CaptionModel;
  readonly #tokenizer: PreTrainedTokenizer;
  readonly #imageOptions: ImageOptions;
  readonly #policies: BundlePolicies;

  private constructor(
    model: CaptionModel,
    tokenizer: PreTrainedTokenizer,
    policies: BundlePolicies,
    imageOptions: ImageOptions,
  ) {
    this.model = model;
    this.#tokenizer = tokenizer;
    this.#policies = policies;
    this.#imageOptions = imageOptions;
  }

  static async load(dir: string, options: CaptionerLoadOptions = {}): Promise<Captioner> {
    const model = await CaptionModel.load(dir, options);
    try {
      const tokenizer = await loadTokenizer(dir, model.manifest.tokenizer);
      const policies = await BundlePolicies.load(dir, model.manifest);
      const imageOptions: ImageOptions =
        options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels };
      return new Captioner(model, tokenizer, policies, imageOptions);
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }

  get numExits(): number {
    return this.model.numExits;
  }

  /** The bundle's own policy (full depth when it ships none). */
  get defaultPolicy(): Policy {
    return this.#policies.defaultPolicy;
  }

  /** The policy `caption` uses for these options (fitting `rule`/`lambda` on first use). */
  policyFor(options: PolicyChoice = {}): Promise<Policy> {
    return this.#policies.policyFor(options);
  }

  /**
   * Streams tokens as they are decided, each with the layer it exited at; the generator's return
   * value is the whole result, as `caption` gives it. With beams > 1 the tokens are known only
   * when the search ends, and arrive then.
   */
  async *stream(
    image: ImageInput,
    options: CaptionOptions = {},
  ): AsyncGenerator<CaptionToken, CaptionResult> {
    const resolved = await this.#resolve(options);
    const started = performance.now();
    const pixels = await this.#pixels(image);
    const decoded = performance.now();
    let sequence: GeneratedToken[];
    let encoderMs: number;
    let crossLayers: number;
    if (resolved.beams > 1) {
      const run = await this.#decode([pixels], resolved);
      ({ encoderMs } = run);
      sequence = run.tokens[0]!;
      crossLayers = run.images[0]!.crossComputed;
      const texts = tokenTexts(this.#tokenizer);
      for (const token of sequence)
        if (!token.end) yield this.#withText(token, texts.next(token.id));
    } else {
      const encoded = await this.#encode([pixels]);
      ({ encoderMs } = encoded);
      sequence = [];
      const texts = tokenTexts(this.#tokenizer);
      for await (const step of this.#greedy(encoded.images, resolved)) {
        const token = step[0]!.token;
        sequence.push(token);
        if (!token.end) yield this.#withText(token, texts.next(token.id));
      }
      crossLayers = encoded.images[0]!.crossComputed;
    }
    return this.#result(sequence, crossLayers, timings(started, decoded, encoderMs));
  }

  async caption(image: ImageInput, options: CaptionOptions = {}): Promise<CaptionResult> {
    const resolved = await this.#resolve(options);
    const started = performance.now();
    const pixels = await this.#pixels(image);
    return (await this.#captions([pixels], resolved, started, performance.now()))[0]!;
  }

  /**
   * Captions several images as one batch: every layer runs once for all the images whose
   * current token reaches it, and each token of each image exits at its own layer. An image that
   * cannot be read does not stop the others: its entry says why.
   */
  async captionBatch(
    images: readonly ImageInput[],
    options: CaptionOptions = {},
  ): Promise<BatchCaption[]> {
    const resolved = await this.#resolve(options);
    const started = performance.now();
    const read = await Promise.all(
      images.map(async (image) => {
        try {
          return { ok: true as const, pixels: await this.#pixels(image) };
        } catch (error) {
          if (error instanceof BeemError) return { ok: false as const, error };
          throw error;
        }
      }),
    );
    const good = read.flatMap((r) => (r.ok ? [r.pixels] : []));
    const results =
      good.length === 0 ? [] : await this.#captions(good, resolved, started, performance.now());
    let next = 0;
    return read.map((r) => (r.ok ? { ok: true, result: results[next++]! } : r));
  }

  async #captions(
    pixels: Float32Array[],
    resolved: Resolved,
    started: number,
    decoded: number,
  ): Promise<CaptionResult[]> {
    const { tokens, images, encoderMs } = await this.#decode(pixels, resolved);
    const batchTimings = timings(started, decoded, encoderMs);
    return tokens.map((sequence, i) =>
      this.#result(sequence, images[i]!.crossComputed, batchTimings),
    );
  }

  /** A decoded sequence (end token included when there is one) as the caller sees it. */
  #result(
    sequence: readonly GeneratedToken[],
    crossLayers: number,
    times: CaptionResult["timings"],
  ): CaptionResult {
    const decided = sequence.filter((t) => !t.end);
    const texts = textsOfTokens(
      this.#tokenizer,
      decided.map((t) => t.id),
    );
    const shown = decided.map((t, i) => this.#withText(t, texts[i]!));
    const exitLayers = sequence.map((t) => t.exitLayer);
    return {
      text: this.decodeText(shown.map((t) => t.id)),
      tokens: shown,
      exitLayers,
      endExitLayer: sequence.at(-1)?.end === true ? sequence.at(-1)!.exitLayer : null,
      meanExitLayer: meanExitLayer(exitLayers),
      crossLayers,
      timings: times,
    };
  }

  /**
   * Full-depth greedy decoding of the images, logging every exit per generated token (end token
   * included) with the full-depth token as the label, as CALM calibrates: the log the core fits
   * caption policies on. The label is the last exit's own token, before the repetition limits
   * (`noRepeatNgram`, `maxRun`), as every exit's prediction in the log is: where the limits
   * replace a token, the decoder replaces it at whichever exit answers, so an exit agrees with
   * full depth when their own tokens agree. The captions decoded go on with the limited token.
   * Each line's `group` is its image (the path given, or `image-K` for the K-th image given as
   * data): an image's tokens are not independent, and risk control counts images, not tokens, as
   * its samples.
   */
  async exitLog(
    images: readonly ImageInput[],
    options: { onProgress?: (done: number, total: number) => void } = {},
  ): Promise<SummarizedSample[]> {
    const out: SummarizedSample[] = [];
    const full = await this.#resolve({ full: true, trace: true });
    for (const [k, image] of images.entries()) {
      const { tokens } = await this.#decode([await this.#pixels(image)], full);
      const group = typeof image === "string" ? image : `image-${k + 1}`;
      for (const token of tokens[0]!)
        out.push({
          label: token.summaries!.at(-1)!.prediction,
          summaries: token.summaries!,
          group,
        });
      options.onProgress?.(k + 1, images.length);
    }
    return out;
  }

  /**
   * The image's encoder memory averaged over its positions (`hiddenSize` values): a vector for
   * comparing images by what the captioner sees (the nearest-neighbour baseline of
   * `beem caption-eval` ranks training photos by its cosine similarity).
   */
  async imageEmbedding(image: ImageInput): Promise<Float32Array> {
    const memory = await this.model.encode([await this.#pixels(image)]);
    const [, positions, width] = memory.dims as [number, number, number];
    const data = memory.data as Float32Array;
    const out = new Float32Array(width);
    for (let p = 0; p < positions; p++)
      for (let d = 0; d < width; d++) out[d]! += data[p * width + d]! / positions;
    return out;
  }

  /** Token ids to caption text. */
  decodeText(ids: readonly number[]): string {
    return this.#tokenizer
      .decode([...ids], { skip_special_tokens: true })
      .replace(/ ,/g, ",")
      .trim();
  }

  /**
   * The token with its text (tokenTexts): a word of a word-level vocabulary, or the characters a
   * byte-level BPE piece completes, with its leading space (" cat"; "" for the first piece of a
   * character split across tokens), so that a caption's token texts join to its decoding.
   */
  #withText(token: GeneratedToken, text: string): CaptionToken {
    const { end: _end, summaries: _summaries, ...rest } = token;
    return { ...rest, text };
  }

  /**
   * Decodes, resizes and normalises an image for this model ahead of captioning it (sharp works
   * off the main thread); throws the same errors as `caption` for an unreadable image.
   */
  async prepare(image: ImageInput): Promise<PreparedImage> {
    return new PreparedImage(await this.#pixels(image), this.model.manifest.image);
  }

  async #pixels(image: ImageInput): Promise<Float32Array> {
    return imageToPixels(image, this.model.manifest.image, this.#imageOptions);
  }

  /** Options checked and defaults applied, in one place. */
  async #resolve(options: CaptionOptions): Promise<Resolved> {
    const maxTokens = checkInteger(
      "maxTokens",
      options.maxTokens ?? this.model.manifest.maxLength - 1,
      1,
    );
    const beams = checkInteger("beams", options.beams ?? 1, 1, MAX_BEAMS);
    const lengthPenalty = checkFiniteNumber("lengthPenalty", options.lengthPenalty ?? 1);
    const trace = options.trace === true;
    const generation = this.model.manifest.generation;
    const noRepeatNgram = checkInteger(
      "noRepeatNgram",
      options.noRepeatNgram ?? generation?.noRepeatNgram ?? 0,
      0,
    );
    const maxRun = checkInteger("maxRun", options.maxRun ?? generation?.maxRun ?? 0, 0);
    if (trace && beams > 1)
      throw new BeemError("INVALID_ARGUMENT", "trace is available with greedy decoding only");
    const fill = checkOneOf(
      "fill",
      options.fill ?? DEFAULT_SKIPPED_LAYER_FILL,
      SKIPPED_LAYER_FILLS,
    );
    const policy = await this.policyFor(options);
    const fused =
      policy.rule === "final" &&
      this.model.fused &&
      !trace &&
      beams === 1 &&
      options.layerByLayer !== true;
    return { policy, fused, fill, maxTokens, beams, lengthPenalty, trace, noRepeatNgram, maxRun };
  }

  /** Whether full depth runs as one fused step graph; without one it runs layer by layer. */
  get fusedFullDepth(): boolean {
    return this.model.fused;
  }

  /** Greedy decoding of encoded images, position by position: fused or layer by layer. */
  #greedy(images: ImageMemory[], resolved: Resolved): AsyncGenerator<SequenceToken[]> {
    if (resolved.fused) return decodeFused(this.model, images, resolved);
    const caches = images.map((image) => SequenceCache.start(this.model, image));
    return decodeGreedy(this.model, caches, createDecider(resolved.policy), {
      maxTokens: resolved.maxTokens,
      trace: resolved.trace,
      fill: resolved.fill,
      noRepeatNgram: resolved.noRepeatNgram,
      maxRun: resolved.maxRun,
    });
  }

  /**
   * The images through the encoder, each with its cross-attention cache: every layer's keys and
   * values computed in one run where the bundle has the fused graph for it, else left for the
   * layers tokens reach.
   */
  async #encode(pixels: Float32Array[]): Promise<{ images: ImageMemory[]; encoderMs: number }> {
    const started = performance.now();
    const memory = await this.model.encode(pixels);
    const images = splitRows(memory).map((m) => new ImageMemory(m, this.numExits));
    if (this.model.fused) {
      const cross = await this.model.crossKvAll(memory);
      cross.forEach((kv, layer) => {
        const keys = splitRows(kv.key);
        const values = splitRows(kv.value);
        images.forEach((image, i) => image.setCross(layer, { key: keys[i]!, value: values[i]! }));
      });
    }
    return { images, encoderMs: performance.now() - started };
  }

  async #decode(pixels: Float32Array[], resolved: Resolved): Promise<Decoded> {
    const model = this.model;
    const { images, encoderMs } = await this.#encode(pixels);
    const decider = createDecider(resolved.policy);
    const tokens: GeneratedToken[][] = images.map(() => []);
    if (resolved.beams === 1) {
      for await (const step of this.#greedy(images, resolved))
        for (const { sequence, token } of step) tokens[sequence]!.push(token);
    } else {
      for (const [i, image] of images.entries()) {
        const best = await decodeBeams(model, SequenceCache.start(model, image), decider, {
          beams: resolved.beams,
          maxTokens: resolved.maxTokens,
          lengthPenalty: resolved.lengthPenalty,
          fill: resolved.fill,
          noRepeatNgram: resolved.noRepeatNgram,
          maxRun: resolved.maxRun,
        });
        tokens[i]!.push(...best.tokens);
      }
    }
    return { tokens, images, encoderMs };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/** Times of a call that started at `started` and had its images decoded at `decoded`. */
function timings(started: number, decoded: number, encoderMs: number): CaptionResult["timings"] {
  const totalMs = performance.now() - started;
  const imageMs = decoded - started;
  return { imageMs, encoderMs, decodeMs: totalMs - imageMs - encoderMs, totalMs };
}
