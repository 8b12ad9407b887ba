// The public text classifier: load a bundle, classify with early exit, log exits, dispose.
import {
  BeemError,
  checkInteger,
  createDecider,
  fullDepthPolicy,
  type ExitSample,
  type Policy,
  type PolicyChoice,
} from "@beem-ts/core";
import { BundlePolicies, type RuntimeOptions, type SessionOptions } from "@beem-ts/runtime";
import { runFused, runRows, type TraceStep } from "./layer-runner.js";
import type { TextManifest } from "./manifest.js";
import { MultiExitEncoder } from "./multi-exit-encoder.js";
import { loadTextTokenizer, type TextTokenizer } from "./tokenizer.js";

export type LoadOptions = SessionOptions;

/** The policy choice and `layerByLayer` (`RuntimeOptions`), and the classifier's own options. */
export interface ClassifyOptions extends RuntimeOptions {
  /** Return every computed exit's prediction, confidence and running score. Default false. */
  readonly trace?: boolean;
  /** Texts run together through each layer; rows that exit leave the batch. Default 1. */
  readonly batchSize?: number;
}

export interface Classification {
  readonly label: string;
  readonly labelId: number;
  /** Probabilities of the exit that answered. */
  readonly probabilities: readonly number[];
  readonly confidence: number;
  /** 1-based exit that answered. */
  readonly exitLayer: number;
  /** The text was longer than the model's maximum length and was cut. */
  readonly truncated: boolean;
  readonly trace?: readonly TraceStep[];
}

export class TextClassifier {
  readonly manifest: TextManifest;
  readonly #encoder: MultiExitEncoder;
  readonly #tokenizer: TextTokenizer;
  readonly #policies: BundlePolicies;

  private constructor(
    encoder: MultiExitEncoder,
    tokenizer: TextTokenizer,
    policies: BundlePolicies,
  ) {
    this.#encoder = encoder;
    this.#tokenizer = tokenizer;
    this.#policies = policies;
    this.manifest = encoder.manifest;
  }

  /** Loads a bundle folder (manifest.json, ONNX graphs, tokenizer, policy). */
  static async load(dir: string, options: LoadOptions = {}): Promise<TextClassifier> {
    const encoder = await MultiExitEncoder.load(dir, options);
    try {
      const tokenizer = await loadTextTokenizer(dir, encoder.manifest);
      const policies = await BundlePolicies.load(dir, encoder.manifest);
      return new TextClassifier(encoder, tokenizer, policies);
    } catch (error) {
      await encoder.dispose();
      throw error;
    }
  }

  /** The bundle's own policy (full depth when it ships none). */
  get defaultPolicy(): Policy {
    return this.#policies.defaultPolicy;
  }

  get labels(): readonly string[] {
    return this.manifest.labels;
  }

  get numExits(): number {
    return this.manifest.numExits;
  }

  /** Whether full depth runs as one fused graph; without one it runs layer by layer. */
  get fusedFullDepth(): boolean {
    return this.#encoder.fused;
  }

  classify(text: string, options?: ClassifyOptions): Promise<Classification>;
  classify(texts: readonly string[], options?: ClassifyOptions): Promise<Classification[]>;
  async classify(
    input: string | readonly string[],
    options: ClassifyOptions = {},
  ): Promise<Classification | Classification[]> {
    const single = typeof input === "string";
    const texts = single ? [input] : input;
    const encoded = this.#encode(texts);
    const policy = await this.policyFor(options);
    const decider = createDecider(policy);
    const batchSize = checkBatchSize(options.batchSize);
    const fused =
      policy.rule === "final" &&
      this.#encoder.fused &&
      options.trace !== true &&
      options.layerByLayer !== true;
    const out = new Array<Classification>(texts.length);
    for (const chunk of chunks(lengthOrder(encoded.map((e) => e.ids.length)), batchSize)) {
      const rows = chunk.map((i) => encoded[i]!.ids);
      const results = fused
        ? await runFused(this.#encoder, rows)
        : await runRows(this.#encoder, rows, decider, { trace: options.trace === true });
      results.forEach((r, k) => {
        const i = chunk[k]!;
        out[i] = {
          label: this.labels[r.prediction] ?? String(r.prediction),
          labelId: r.prediction,
          probabilities: Array.from(r.probabilities),
          confidence: r.probabilities[r.prediction]!,
          exitLayer: r.exitLayer,
          truncated: encoded[i]!.truncated,
          ...(r.trace && { trace: r.trace }),
        };
      });
    }
    return single ? out[0]! : out;
  }

  /**
   * Every exit's probabilities for labelled texts, in the exit-log format the core calibrates
   * on (`formatExitLogLine` writes them as JSON Lines).
   */
  async exitOutputs(
    samples: readonly { readonly text: string; readonly label: number }[],
    options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<ExitSample[]> {
    const encoded = this.#encode(samples.map((s) => s.text));
    const decider = createDecider(fullDepthPolicy(this.numExits));
    const out = new Array<ExitSample>(samples.length);
    let done = 0;
    for (const chunk of chunks(
      lengthOrder(encoded.map((e) => e.ids.length)),
      checkBatchSize(options.batchSize ?? 32),
    )) {
      const results = await runRows(
        this.#encoder,
        chunk.map((i) => encoded[i]!.ids),
        decider,
        { keepExits: true },
      );
      results.forEach((r, k) => {
        out[chunk[k]!] = { label: samples[chunk[k]!]!.label, exits: r.exits! };
      });
      done += chunk.length;
      options.onProgress?.(done, samples.length);
    }
    return out;
  }

  /** The policy `classify` would use for these options. */
  policyFor(options: PolicyChoice = {}): Promise<Policy> {
    return this.#policies.policyFor(options);
  }

  #encode(texts: readonly string[]) {
    if (texts.length === 0)
      throw new BeemError("INVALID_ARGUMENT", "Expected at least one text but received none");
    return texts.map((text, i) => {
      if (typeof text !== "string" || text.trim() === "") {
        const name = texts.length === 1 ? "text" : `texts[${i}]`;
        throw new BeemError(
          "INVALID_ARGUMENT",
          `Expected ${name} to be a non-empty string but received ${JSON.stringify(text)}`,
        );
      }
      return this.#tokenizer.encode(text);
    });
  }

  async dispose(): Promise<void> {
    await this.#encoder.dispose();
  }
}

function checkBatchSize(value: number | undefined): number {
  return checkInteger("batchSize", value ?? 1, 1);
}

/** Indices by length, so rows batched together need little padding. */
function lengthOrder(lengths: readonly number[]): number[] {
  return lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
