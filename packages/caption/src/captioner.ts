// The public captioner: load a bundle, caption images with per-token early exit, dispose.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BeemError,
  choosePolicy,
  createDecider,
  parsePolicy,
  type CalibrationRule,
  type Policy,
  type PolicyChoice,
  type SummarizedSample,
} from "@beem-ts/core";
import { bundleCalibration, type SessionOptions } from "@beem-ts/onnx";
import { BertTokenizer } from "@xenova/transformers/src/tokenizers.js";
import { CaptionModel } from "./caption-model.js";
import { decodeGreedy, type GeneratedToken } from "./greedy-decoder.js";
import { imageToPixels, type ImageInput, type ImageOptions } from "./image-input.js";
import { SequenceCache } from "./kv-cache.js";

export type CaptionerLoadOptions = SessionOptions & ImageOptions;

export interface CaptionOptions {
  /** A policy to decide with. Default: the bundle's policy. */
  readonly policy?: Policy;
  /** Fit this rule at `lambda` on the bundle's calibration log instead. */
  readonly rule?: CalibrationRule;
  /** Cost parameter for `rule` (default 0); alone, BEEM-A at this lambda. */
  readonly lambda?: number;
  /** Run every layer for every token. Default false. */
  readonly full?: boolean;
  /** Most tokens to generate. Default: the bundle's maximum length. */
  readonly maxTokens?: number;
  /** Keep every computed exit's decision per token. Default false. */
  readonly trace?: boolean;
}

export interface CaptionToken extends Omit<GeneratedToken, "end" | "summaries"> {
  readonly text: string;
}

export interface CaptionResult {
  readonly text: string;
  readonly tokens: readonly CaptionToken[];
  /** Mean exit layer over generated tokens, the end token included. */
  readonly meanExitLayer: number;
  /** Layers whose cross-attention keys/values were computed for this image. */
  readonly crossLayers: number;
  readonly timings: {
    readonly imageMs: number;
    readonly encoderMs: number;
    readonly decodeMs: number;
    readonly totalMs: number;
  };
}

export class Captioner {
  readonly model: CaptionModel;
  readonly defaultPolicy: Policy;
  readonly #tokenizer: BertTokenizer;
  readonly #imageOptions: ImageOptions;
  readonly #vocabulary: readonly string[];
  readonly #fit: (rule: CalibrationRule, lambda: number) => Promise<Policy>;

  private constructor(
    dir: string,
    model: CaptionModel,
    tokenizer: BertTokenizer,
    vocabulary: string[],
    policy: Policy,
    imageOptions: ImageOptions,
  ) {
    this.#fit = bundleCalibration({
      dir,
      calibrationLog: model.manifest.calibrationLog,
      costs: model.manifest.costs,
    });
    this.model = model;
    this.#tokenizer = tokenizer;
    this.#vocabulary = vocabulary;
    this.defaultPolicy = policy;
    this.#imageOptions = imageOptions;
  }

  static async load(dir: string, options: CaptionerLoadOptions = {}): Promise<Captioner> {
    const model = await CaptionModel.load(dir, options);
    try {
      const m = model.manifest;
      const read = async (file: string): Promise<unknown> => {
        const path = join(dir, file);
        try {
          return JSON.parse(await readFile(path, "utf8"));
        } catch (cause) {
          throw new BeemError(
            "INVALID_BUNDLE",
            `${path}: cannot read the file (${(cause as Error).message})`,
            { cause },
          );
        }
      };
      const tokenizerJson = (await read(m.tokenizer.file)) as {
        model: { vocab: Record<string, number> };
      };
      const tokenizer = new BertTokenizer(tokenizerJson, await read(m.tokenizer.config));
      const vocabulary: string[] = [];
      for (const [word, id] of Object.entries(tokenizerJson.model.vocab)) vocabulary[id] = word;
      const policy: Policy =
        m.policy === undefined
          ? { version: 1, rule: "final", numExits: m.numExits }
          : parsePolicy(await read(m.policy), { source: join(dir, m.policy) });
      if (policy.numExits !== m.numExits) {
        throw new BeemError(
          "INVALID_ARGUMENT",
          `The policy is for ${policy.numExits} exits but the model has ${m.numExits}`,
        );
      }
      const imageOptions: ImageOptions =
        options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels };
      return new Captioner(dir, model, tokenizer, vocabulary, policy, imageOptions);
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }

  get numExits(): number {
    return this.model.numExits;
  }

  /** The policy `caption` uses for these options (fitting `rule`/`lambda` on first use). */
  async policyFor(options: PolicyChoice = {}): Promise<Policy> {
    return choosePolicy(options, {
      numExits: this.numExits,
      defaultPolicy: this.defaultPolicy,
      fit: this.#fit,
    });
  }

  /** Streams tokens as they are decided, each with the layer it exited at. */
  async *stream(image: ImageInput, options: CaptionOptions = {}): AsyncGenerator<CaptionToken> {
    const policy = await this.policyFor(options);
    for await (const token of this.#decode(await this.#pixels(image), policy, options).tokens) {
      if (token.end) return;
      yield this.#withText(token);
    }
  }

  async caption(image: ImageInput, options: CaptionOptions = {}): Promise<CaptionResult> {
    const policy = await this.policyFor(options);
    const started = performance.now();
    const pixels = await this.#pixels(image);
    const decoded = this.#decode(pixels, policy, options);
    const tokens: CaptionToken[] = [];
    let layers = 0;
    let steps = 0;
    const imageMs = performance.now() - started;
    for await (const token of decoded.tokens) {
      layers += token.exitLayer;
      steps++;
      if (!token.end) tokens.push(this.#withText(token));
    }
    const totalMs = performance.now() - started;
    const encoderMs = decoded.encoderMs();
    return {
      text: this.decodeText(tokens.map((t) => t.id)),
      tokens,
      meanExitLayer: steps === 0 ? 0 : layers / steps,
      crossLayers: decoded.crossLayers(),
      timings: { imageMs, encoderMs, decodeMs: totalMs - imageMs - encoderMs, totalMs },
    };
  }

  /**
   * Full-depth greedy decoding of the images, logging every exit per generated token (end token
   * included) with the full-depth token as the label, as CALM calibrates: the log the core fits
   * caption policies on.
   */
  async exitLog(
    images: readonly ImageInput[],
    options: { onProgress?: (done: number, total: number) => void } = {},
  ): Promise<SummarizedSample[]> {
    const out: SummarizedSample[] = [];
    const full: Policy = { version: 1, rule: "final", numExits: this.numExits };
    for (const [k, image] of images.entries()) {
      for await (const token of this.#decode(await this.#pixels(image), full, { trace: true })
        .tokens) {
        out.push({ label: token.id, summaries: token.summaries! });
      }
      options.onProgress?.(k + 1, images.length);
    }
    return out;
  }

  /** Token ids to caption text. */
  decodeText(ids: readonly number[]): string {
    return (this.#tokenizer as unknown as { decode(ids: number[], o: object): string })
      .decode([...ids], { skip_special_tokens: true })
      .replace(/ ,/g, ",")
      .trim();
  }

  #withText(token: GeneratedToken): CaptionToken {
    const { end: _end, summaries: _summaries, ...rest } = token;
    return { ...rest, text: this.#vocabulary[token.id] ?? "" };
  }

  async #pixels(image: ImageInput): Promise<Float32Array> {
    return imageToPixels(image, this.model.manifest.image, this.#imageOptions);
  }

  #decode(pixels: Float32Array, policy: Policy, options: CaptionOptions) {
    const maxTokens = options.maxTokens ?? this.model.manifest.maxLength - 1;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new BeemError(
        "INVALID_ARGUMENT",
        `Expected maxTokens to be an integer >= 1 but received ${maxTokens}`,
      );
    }
    const decider = createDecider(policy);
    const model = this.model;
    let encoderMs = 0;
    let cache: SequenceCache | undefined;
    async function* tokens(): AsyncGenerator<GeneratedToken> {
      const t = performance.now();
      const memory = await model.encode(pixels);
      encoderMs = performance.now() - t;
      cache = new SequenceCache(model, memory);
      yield* decodeGreedy(model, cache, decider, { maxTokens, trace: options.trace === true });
    }
    return {
      tokens: tokens(),
      encoderMs: () => encoderMs,
      crossLayers: () => cache?.crossComputed ?? 0,
    };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
