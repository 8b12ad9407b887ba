// Repetition limits of greedy decoding: no repeated n-grams (Hugging Face's
// `no_repeat_ngram_size`) and no token more than `maxRun` times in a row. A token that would
// break them is replaced by the exit's best token that does not.
import { softmax } from "@beem-ts/core";

/** What greedy decoding may not repeat (0: no limit). */
export interface RepeatLimits {
  /** No n-gram of this size twice in a caption. */
  readonly noRepeatNgram: number;
  /** No token more than this many times in a row. */
  readonly maxRun: number;
}

/** The tokens that would break `limits` if generated after `history`. */
export function bannedNext(history: readonly number[], limits: RepeatLimits): Set<number> {
  const banned = ngramBanned(history, limits.noRepeatNgram);
  const { maxRun } = limits;
  const last = history.at(-1);
  if (maxRun > 0 && history.length >= maxRun && history.slice(-maxRun).every((t) => t === last))
    banned.add(last!);
  return banned;
}

/** The tokens that would repeat one of `history`'s n-grams if generated next. */
function ngramBanned(history: readonly number[], n: number): Set<number> {
  const banned = new Set<number>();
  const start = history.length - (n - 1); // where the n-gram being completed begins
  if (n < 1 || start < 0) return banned;
  for (let i = 0; i + n <= history.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = history[i + j] === history[start + j];
    if (same) banned.add(history[i + n - 1]!);
  }
  return banned;
}

/** A token chosen in place of a banned one, with its probability at the exit. */
export interface AllowedToken {
  readonly id: number;
  /** Its soft-max probability among the exit's logits (the token's new `confidence`). */
  readonly probability: number;
}

/**
 * The highest-scoring token outside `banned` (`logits` are over `ids`, a shortlist, or over all
 * ids); the highest-scoring of all when every one is banned.
 */
export function bestAllowed(
  logits: Float32Array,
  ids: ArrayLike<number> | undefined,
  banned: ReadonlySet<number>,
): AllowedToken {
  let best = -1;
  for (let k = 0; k < logits.length; k++) {
    const id = ids === undefined ? k : ids[k]!;
    if (!banned.has(id) && (best < 0 || logits[k]! > logits[best]!)) best = k;
  }
  if (best < 0) return bestAllowed(logits, ids, new Set());
  return { id: ids === undefined ? best : ids[best]!, probability: softmax(logits)[best]! };
}

/** An exit's logits for one sequence and the token ids they are over (undefined: all ids). */
export interface ExitScores {
  readonly logits: Float32Array;
  readonly ids?: ArrayLike<number> | undefined;
}

/**
 * The limits for sequences decoded together, each with the tokens it has so far: the one place
 * greedy decoding (fused or layer by layer) applies them.
 */
export class RepeatGuard {
  readonly #limits: RepeatLimits;
  readonly #histories: number[][];
  /** Whether any limit is set (the decoder then needs each token's exit logits). */
  readonly limited: boolean;

  constructor(limits: { noRepeatNgram?: number; maxRun?: number }, sequences: number) {
    this.#limits = { noRepeatNgram: limits.noRepeatNgram ?? 0, maxRun: limits.maxRun ?? 0 };
    this.limited = this.#limits.noRepeatNgram > 0 || this.#limits.maxRun > 0;
    this.#histories = Array.from({ length: sequences }, () => []);
  }

  /**
   * Records sequence `s`'s next token: `id`, or, when `id` would break the limits, the exit's best
   * token that would not (read from `scores()`, asked only then), which is returned.
   */
  take(s: number, id: number, scores: () => ExitScores): AllowedToken | undefined {
    const history = this.#histories[s]!;
    const banned = this.limited ? bannedNext(history, this.#limits) : undefined;
    if (!banned?.has(id)) {
      history.push(id);
      return undefined;
    }
    const { logits, ids } = scores();
    const swap = bestAllowed(logits, ids, banned);
    history.push(swap.id);
    return swap;
  }
}
