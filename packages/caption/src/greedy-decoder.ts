// Greedy decoding with a per-token exit decision: each layer's exit head is an expert, and
// the core's step API says after each layer whether the token is settled. Several sequences
// (one per image) decode in lockstep; each token of each sequence exits at its own layer, and
// each layer runs once for all the sequences that reach it.
import {
  softmax,
  summarize,
  type Decider,
  type ExitRun,
  type ExitSummary,
  type StepDecision,
} from "@beem-ts/core";
import type { ort } from "@beem-ts/onnx";
import type { CaptionModel } from "./caption-model.js";
import { CrossStacks, type SequenceCache } from "./kv-cache.js";
import { stepLayer } from "./layer-step.js";
import { splitRows } from "./tensors.js";

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

/** A token of one of the sequences decoded together. */
export interface SequenceToken {
  /** Index of the sequence (its cache) in the decoded batch. */
  readonly sequence: number;
  readonly token: GeneratedToken;
}

/** The tokens at one position of the sequences still running (their exit heads' logits too). */
export interface PositionResult {
  readonly tokens: SequenceToken[];
  /** Each token's exit logits, in the order of `tokens`. */
  readonly logits: Float32Array[];
}

/**
 * Runs one position for the given sequences: embeds their previous tokens, then goes layer by
 * layer with the sequences not yet settled. Tokens are the exit's argmax.
 */
export async function decodePosition(
  model: CaptionModel,
  caches: readonly SequenceCache[],
  previous: readonly number[],
  position: number,
  decider: Decider,
  trace: boolean,
  stacks: CrossStacks = new CrossStacks(),
): Promise<PositionResult> {
  const embedded = splitRows(await model.embed(previous, position));
  const runs: ExitRun[] = caches.map(() => decider.begin());
  const decisions: StepDecision[] = [];
  const logits: Float32Array[] = [];
  const traces: StepDecision[][] | undefined = trace ? caches.map(() => []) : undefined;
  const summaries: ExitSummary[][] | undefined = trace ? caches.map(() => []) : undefined;
  let running: { row: number; hidden: ort.Tensor }[] = embedded.map((hidden, row) => ({
    row,
    hidden,
  }));
  for (let layer = 0; layer < model.numExits && running.length > 0; layer++) {
    const outs = await stepLayer(
      model,
      layer,
      running.map((r) => caches[r.row]!),
      running.map((r) => r.hidden),
      stacks,
    );
    const next: typeof running = [];
    running.forEach(({ row }, k) => {
      const out = outs[k]!;
      const summary = summarize(softmax(out.logits));
      const decision = runs[row]!.stepSummary(summary);
      traces?.[row]!.push(decision);
      summaries?.[row]!.push(summary);
      if (decision.exit) {
        decisions[row] = decision;
        logits[row] = out.logits;
        caches[row]!.skipAbove(layer, out.hidden.data as Float32Array);
      } else next.push({ row, hidden: out.hidden });
    });
    running = next;
  }
  const { eos } = model.manifest.tokens;
  return {
    tokens: decisions.map((d, row) => ({
      sequence: row,
      token: {
        id: d.prediction,
        exitLayer: d.layer,
        confidence: d.confidence,
        end: d.prediction === eos,
        ...(traces && summaries && { trace: traces[row]!, summaries: summaries[row]! }),
      },
    })),
    logits,
  };
}

/**
 * Greedy captions for several sequences at once. Yields, per position, the tokens of the
 * sequences still running; a sequence stops after its end token or `maxTokens` tokens.
 */
export async function* decodeGreedy(
  model: CaptionModel,
  caches: readonly SequenceCache[],
  decider: Decider,
  options: DecodeOptions,
): AsyncGenerator<SequenceToken[]> {
  const { bos } = model.manifest.tokens;
  let active = caches.map((_, i) => i);
  let previous = caches.map(() => bos);
  const stacks = new CrossStacks();
  for (let position = 0; position < options.maxTokens && active.length > 0; position++) {
    const { tokens } = await decodePosition(
      model,
      active.map((i) => caches[i]!),
      previous,
      position,
      decider,
      options.trace === true,
      stacks,
    );
    const out = tokens.map((t) => ({ sequence: active[t.sequence]!, token: t.token }));
    yield out;
    const going = out.filter((t) => !t.token.end);
    active = going.map((t) => t.sequence);
    previous = going.map((t) => t.token.id);
  }
}
