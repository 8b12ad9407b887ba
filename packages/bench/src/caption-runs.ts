// What evaluateCaptions and sweepCaptions share: ways of captioning timed side by side, and the
// token statistics of a pass.
import { meanExitLayer } from "@beem-ts/core";
import { type CaptionOptions, type CaptionResult, type Captioner } from "@beem-ts/caption";
import type { CaptionSet } from "./caption-data.js";
import { timeSideBySide, type Runner as TimingRunner } from "./timing.js";

/** A way of captioning one file (its index in the set given). */
export type Runner = TimingRunner<string>;

/** One way of captioning timed by `timeWays`: per repeat, sums over all files. */
export interface WayTiming {
  /** Wall-clock time of each repeat, image decoding included. */
  readonly ms: number[];
  /** Time in the decoding loop (after the encoder and cross-attention keys/values). */
  readonly decodeMs: number[];
  /** Image decoding, encoder and cross-attention keys/values. */
  readonly fixedMs: number[];
  /** Each file's caption (every repeat gives the same: decoding is deterministic). */
  readonly results: CaptionResult[];
}

/**
 * Times several ways of captioning side by side (`timeSideBySide`, image by image, a warm-up
 * caption per way first), keeping each way's captions and the time each spent decoding and on
 * its fixed part.
 */
export async function timeWays<K extends string>(
  captioner: Captioner,
  files: readonly string[],
  ways: Readonly<Record<K, CaptionOptions>>,
  options: { repeats: number; onRepeat?: () => void },
): Promise<Record<K, WayTiming>> {
  const names = Object.keys(ways) as K[];
  const out = Object.fromEntries(
    names.map((n) => [n, { ms: [], decodeMs: [], fixedMs: [], results: [] }]),
  ) as unknown as Record<K, WayTiming>;
  // This repeat's sums of each way's decoding and fixed times, pushed when the repeat ends.
  const sums = Object.fromEntries(names.map((n) => [n, { decode: 0, fixed: 0 }])) as Record<
    K,
    { decode: number; fixed: number }
  >;
  const runners = Object.fromEntries(
    names.map((n) => {
      const run: Runner = async (file, i) => {
        const result = await captioner.caption(file, ways[n]);
        sums[n].decode += result.timings.decodeMs;
        sums[n].fixed += result.timings.imageMs + result.timings.encoderMs;
        out[n].results[i] = result;
      };
      return [n, run];
    }),
  ) as Record<K, Runner>;
  const endRepeat = () => {
    for (const n of names) {
      out[n].decodeMs.push(sums[n].decode);
      out[n].fixedMs.push(sums[n].fixed);
      sums[n] = { decode: 0, fixed: 0 };
    }
  };
  for (const n of names) await runners[n](files[0]!, 0); // warm-up: its times are not kept
  for (const n of names) sums[n] = { decode: 0, fixed: 0 };
  const ms = await timeSideBySide(files, runners, {
    repeats: options.repeats,
    onRepeat: () => {
      endRepeat();
      options.onRepeat?.();
    },
  });
  for (const n of names) out[n].ms.push(...ms[n]);
  return out;
}

/** Candidate captions by image id, for scoring. */
export function candidates(set: CaptionSet, texts: readonly string[]): Record<string, string> {
  return Object.fromEntries(texts.map((t, i) => [set.ids[i]!, t]));
}

export interface TokenStats {
  /** Mean exit layer over generated tokens, end tokens included. */
  readonly meanExitLayer: number;
  /** Fraction of full-depth tokens that early exit reproduced at the same position. */
  readonly tokenAgreement: number;
}

/** Mean exit layer over all the captions' decided tokens (core's `meanExitLayer`). */
export function meanExitOf(results: readonly CaptionResult[]): number {
  return meanExitLayer(results.flatMap((r) => r.exitLayers));
}

export function tokenStats(
  early: readonly CaptionResult[],
  full: readonly CaptionResult[],
): TokenStats {
  let agree = 0;
  let compared = 0;
  early.forEach((r, i) => {
    full[i]!.tokens.forEach((t, k) => {
      compared++;
      if (r.tokens[k]?.id === t.id) agree++;
    });
  });
  return {
    meanExitLayer: meanExitOf(early),
    tokenAgreement: compared === 0 ? 1 : agree / compared,
  };
}
