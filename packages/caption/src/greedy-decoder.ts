// Greedy decoding with a per-token exit decision: each layer's exit head is an expert, and
// the core's step API says after each layer whether the token is settled. Several sequences
// (one per image) decode in lockstep; each token of each sequence exits at its own layer, and
// each layer runs once for all the sequences that reach it.
import type { Decider, ExitRun, ExitSummary, StepDecision } from "@beem-ts/core";
import type { ort } from "@beem-ts/runtime";
import type { CaptionModel } from "./caption-model.js";
import { CrossStacks, type SequenceCache } from "./kv-cache.js";
import { stepLayer, type StepInput } from "./layer-step.js";
import {
  DEFAULT_SKIPPED_LAYER_FILL,
  fillSkippedLayers,
  type ExitedSequence,
  type SkippedLayerFill,
} from "./skipped-layers.js";
import { RepeatGuard } from "./repeat-block.js";
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
  /** Keep every computed exit's decision and summary per token. Default false. */
  readonly trace?: boolean;
  /** How the layers a token skipped get their keys/values. Default "deferred". */
  readonly fill?: SkippedLayerFill;
  /** No repeated n-grams of this size (0: off; see repeat-block.ts). Default 0. */
  readonly noRepeatNgram?: number;
  /** No token more than this many times in a row (0: no limit). Default 0. */
  readonly maxRun?: number;
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
  /** Each token's exit logits, in the order of `tokens` (with `logits`). */
  readonly logits: Float32Array[];
}

/** One position of several sequences: their caches and previous tokens. */
export interface Position {
  readonly caches: readonly SequenceCache[];
  readonly previous: readonly number[];
  /** 0-based position of the tokens being generated. */
  readonly index: number;
}

export interface PositionOptions {
  readonly decider: Decider;
  /** Keep every computed exit's decision and summary per token. Default false. */
  readonly trace?: boolean;
  /** Return each token's exit logits (beam search needs them). Default false. */
  readonly logits?: boolean;
  /** How the layers a token skipped get their keys/values. Default "deferred". */
  readonly fill?: SkippedLayerFill;
  /** Stacked cross-attention keys/values, kept across the positions of one batch. */
  readonly stacks?: CrossStacks;
}

/**
 * Runs one position for the given sequences: embeds their previous tokens, then goes layer by
 * layer with the sequences not yet settled. Tokens are the exit's argmax.
 */
export async function decodePosition(
  model: CaptionModel,
  position: Position,
  options: PositionOptions,
): Promise<PositionResult> {
  const { caches } = position;
  const fill = options.fill ?? DEFAULT_SKIPPED_LAYER_FILL;
  const stacks = options.stacks ?? new CrossStacks();
  const runs: ExitRun[] = caches.map(() => options.decider.begin());
  const decisions: StepDecision[] = [];
  const logits: Float32Array[] = [];
  const traces: StepDecision[][] | undefined = options.trace ? caches.map(() => []) : undefined;
  const summaries: ExitSummary[][] | undefined = options.trace ? caches.map(() => []) : undefined;
  // Every row starts: from its token, embedded by the first layer's graph where it can.
  const embedded = model.embedsInFirstStep
    ? undefined
    : splitRows(await model.embed(position.previous, position.index));
  let running: { row: number; hidden: ort.Tensor | undefined }[] = caches.map((_, row) => ({
    row,
    hidden: embedded?.[row],
  }));
  for (let layer = 0; layer < model.numExits && running.length > 0; layer++) {
    const input: StepInput =
      layer === 0 && embedded === undefined
        ? { tokens: position.previous, position: position.index }
        : { hidden: running.map((r) => r.hidden!) };
    const outs = await stepLayer(
      model,
      layer,
      running.map((r) => caches[r.row]!),
      input,
      { logits: options.logits === true, stacks },
    );
    const next: typeof running = [];
    const exited: ExitedSequence[] = [];
    running.forEach(({ row }, k) => {
      const out = outs[k]!;
      const decision = runs[row]!.stepSummary(out.summary);
      traces?.[row]!.push(decision);
      summaries?.[row]!.push(out.summary);
      if (decision.exit) {
        decisions[row] = decision;
        if (out.logits) logits[row] = out.logits;
        exited.push({ cache: caches[row]!, hidden: out.hidden });
      } else next.push({ row, hidden: out.hidden });
    });
    await fillSkippedLayers(model, fill, layer, exited);
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
  const { bos, eos } = model.manifest.tokens;
  const guard = new RepeatGuard(options, caches.length);
  let active = caches.map((_, i) => i);
  let previous = caches.map(() => bos);
  const stacks = new CrossStacks();
  for (let index = 0; index < options.maxTokens && active.length > 0; index++) {
    const { tokens, logits } = await decodePosition(
      model,
      { caches: active.map((i) => caches[i]!), previous, index },
      {
        decider,
        trace: options.trace === true,
        stacks,
        logits: guard.limited,
        ...(options.fill && { fill: options.fill }),
      },
    );
    const out = tokens.map(({ sequence, token }) => {
      const s = active[sequence]!;
      const swap = guard.take(s, token.id, () => ({
        logits: logits[sequence]!,
        ids: model.exitTokens(token.exitLayer - 1),
      }));
      if (swap === undefined) return { sequence: s, token };
      const { id, probability } = swap;
      return { sequence: s, token: { ...token, id, confidence: probability, end: id === eos } };
    });
    yield out;
    const going = out.filter((t) => !t.token.end);
    active = going.map((t) => t.sequence);
    previous = going.map((t) => t.token.id);
  }
}
