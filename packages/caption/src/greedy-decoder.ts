// Greedy decoding with a per-token exit decision: each layer's exit head is an expert, and
// the core's step API says after each layer whether the token is settled.
import {
  softmax,
  summarize,
  type Decider,
  type ExitSummary,
  type StepDecision,
} from "@beem-ts/core";
import type { CaptionModel } from "./caption-model.js";
import type { SequenceCache } from "./kv-cache.js";

export interface GeneratedToken {
  readonly id: number;
  /** 1-based layer whose exit gave the token. */
  readonly exitLayer: number;
  readonly confidence: number;
  /** The end-of-caption token (last one yielded; not part of the text). */
  readonly end: boolean;
  /** Every computed exit's decision (with `trace`). */
  readonly trace?: readonly StepDecision[];
  /** Every computed exit's prediction, confidence and entropy (with `trace`). */
  readonly summaries?: readonly ExitSummary[];
}

export interface DecodeOptions {
  readonly maxTokens: number;
  readonly trace?: boolean;
}

/** Yields tokens up to and including the end token, or `maxTokens` of them. */
export async function* decodeGreedy(
  model: CaptionModel,
  cache: SequenceCache,
  decider: Decider,
  options: DecodeOptions,
): AsyncGenerator<GeneratedToken> {
  const { bos, eos } = model.manifest.tokens;
  let previous = bos;
  for (let position = 0; position < options.maxTokens; position++) {
    let hidden = await model.embed(previous, position);
    const run = decider.begin();
    const trace: StepDecision[] | undefined = options.trace === true ? [] : undefined;
    const summaries: ExitSummary[] | undefined = options.trace === true ? [] : undefined;
    let decision: StepDecision | undefined;
    for (let layer = 0; layer < model.numExits; layer++) {
      const out = await model.step(
        layer,
        hidden,
        await cache.past(layer),
        await cache.cross(layer),
      );
      cache.update(layer, out);
      hidden = out.hidden;
      const summary = summarize(softmax(out.logits));
      decision = run.stepSummary(summary);
      trace?.push(decision);
      summaries?.push(summary);
      if (decision.exit) {
        cache.skipAbove(layer, hidden);
        break;
      }
    }
    const token = decision!;
    const end = token.prediction === eos;
    yield {
      id: token.prediction,
      exitLayer: token.layer,
      confidence: token.confidence,
      end,
      ...(trace && { trace }),
      ...(summaries && { summaries }),
    };
    if (end) return;
    previous = token.prediction;
  }
}
