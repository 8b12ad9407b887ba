// Beam search with per-token early exit. The beams of an image decode in lockstep, so each
// layer runs once for all beams that reach it; each beam's next-token log-probabilities come
// from the exit its token stopped at. Scores are summed log-probabilities; a finished caption
// is ranked by score / length^lengthPenalty (length counts the end token), as in Hugging Face
// generate. The search stops once `beams` captions have finished (early stopping) or at
// `maxTokens`. Repetition limits work as Hugging Face's `no_repeat_ngram_size` does in beam
// search: a token that would break them gets no candidate from that beam.
import type { Decider } from "@beem-ts/core";
import type { CaptionModel } from "./caption-model.js";
import { decodePosition, type GeneratedToken } from "./greedy-decoder.js";
import { CrossStacks, type SequenceCache } from "./kv-cache.js";
import { bannedNext } from "./repeat-block.js";
import type { SkippedLayerFill } from "./skipped-layers.js";

export interface BeamOptions {
  readonly beams: number;
  readonly maxTokens: number;
  /** Exponent of the length normalisation. Default 1. */
  readonly lengthPenalty?: number;
  /** How the layers a token skipped get their keys/values. Default "deferred". */
  readonly fill?: SkippedLayerFill;
  /** No n-gram of this size twice in a caption (0: no limit). Default 0. */
  readonly noRepeatNgram?: number;
  /** No token more than this many times in a row (0: no limit). Default 0. */
  readonly maxRun?: number;
}

export interface BeamResult {
  /** The best caption's tokens, the end token last when it finished. */
  readonly tokens: readonly GeneratedToken[];
  /** Its length-normalised log-probability. */
  readonly score: number;
}

interface Beam {
  readonly cache: SequenceCache;
  readonly tokens: readonly GeneratedToken[];
  readonly logProb: number;
}

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const log = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - log);
}

/**
 * Sets the log-probabilities of the `banned` ids to -Infinity (`ids`: the ids the entries are
 * over, a shortlist, or undefined for all ids), unless every entry is banned: then none is, as
 * greedy decoding falls back to the best of all.
 */
function ban(logProbs: Float64Array, ids: ArrayLike<number> | undefined, banned: Set<number>) {
  if (banned.size === 0) return;
  const hit: number[] = [];
  for (let k = 0; k < logProbs.length; k++)
    if (banned.has(ids === undefined ? k : ids[k]!)) hit.push(k);
  if (hit.length < logProbs.length) for (const k of hit) logProbs[k] = -Infinity;
}

/** The k largest entries' indices, largest first. */
function topK(values: Float64Array, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (top.length === k && values[i]! <= values[top[k - 1]!]!) continue;
    let j = top.length === k ? k - 1 : top.length;
    while (j > 0 && values[top[j - 1]!]! < values[i]!) {
      top[j] = top[j - 1]!;
      j--;
    }
    top[j] = i;
  }
  return top;
}

export async function decodeBeams(
  model: CaptionModel,
  start: SequenceCache,
  decider: Decider,
  options: BeamOptions,
): Promise<BeamResult> {
  const { bos, eos } = model.manifest.tokens;
  const width = options.beams;
  const penalty = options.lengthPenalty ?? 1;
  const normalised = (logProb: number, length: number) => logProb / Math.max(1, length) ** penalty;
  const limits = { noRepeatNgram: options.noRepeatNgram ?? 0, maxRun: options.maxRun ?? 0 };
  const limited = limits.noRepeatNgram > 0 || limits.maxRun > 0;
  let beams: Beam[] = [{ cache: start, tokens: [], logProb: 0 }];
  const finished: BeamResult[] = [];
  const stacks = new CrossStacks();
  for (let position = 0; position < options.maxTokens; position++) {
    const { tokens, logits } = await decodePosition(
      model,
      {
        caches: beams.map((b) => b.cache),
        previous: beams.map((b) => b.tokens.at(-1)?.id ?? bos),
        index: position,
      },
      { decider, logits: true, stacks, ...(options.fill && { fill: options.fill }) },
    );
    const candidates = beams.flatMap((beam, b) => {
      const logProbs = logSoftmax(logits[b]!);
      const exitLayer = tokens[b]!.token.exitLayer;
      // A shortlist head's logits are over its token ids, in their order.
      const ids = model.exitTokens(exitLayer - 1);
      if (limited) {
        const history = beam.tokens.map((t) => t.id);
        ban(logProbs, ids, bannedNext(history, limits));
      }
      const top = topK(logProbs, 2 * width).filter((k) => logProbs[k]! > -Infinity);
      return top.map((k) => ({
        beam,
        id: ids === undefined ? k : ids[k]!,
        exitLayer,
        confidence: Math.exp(logProbs[k]!),
        logProb: beam.logProb + logProbs[k]!,
      }));
    });
    candidates.sort((a, b) => b.logProb - a.logProb);
    const next: Beam[] = [];
    const taken = new Set<Beam>();
    for (const [rank, c] of candidates.entries()) {
      const token: GeneratedToken = {
        id: c.id,
        exitLayer: c.exitLayer,
        confidence: c.confidence,
        end: c.id === eos,
      };
      if (token.end) {
        if (rank < width) {
          const all = [...c.beam.tokens, token];
          finished.push({ tokens: all, score: normalised(c.logProb, all.length) });
        }
        continue;
      }
      // The first child continues its parent's cache; siblings get copies (before any is
      // extended, as caches change only in the next decodePosition).
      const cache = taken.has(c.beam) ? c.beam.cache.clone() : c.beam.cache;
      taken.add(c.beam);
      next.push({ cache, tokens: [...c.beam.tokens, token], logProb: c.logProb });
      if (next.length === width) break;
    }
    beams = next;
    if (finished.length >= width || beams.length === 0) break;
  }
  if (finished.length === 0)
    for (const b of beams)
      finished.push({ tokens: b.tokens, score: normalised(b.logProb, b.tokens.length) });
  return finished.reduce((best, r) => (r.score > best.score ? r : best));
}
