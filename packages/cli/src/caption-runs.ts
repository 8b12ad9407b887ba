// What caption-eval and caption-sweep share: held-out scenes written as image files (so timing
// includes image decoding, as a user's request would; a caption data set's photos are files
// already), ways of captioning timed side by side,
// the token statistics of a pass, and transformers.js' image-to-text pipeline on the same
// weights.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { meanExitLayer } from "@beem-ts/core";
import { type CaptionOptions, type CaptionResult, type Captioner } from "@beem-ts/caption";
import { generateScenes, renderScene } from "@beem-ts/scenes";
import type { CaptionSet } from "./caption-data.js";
import { UsageError } from "./cli-error.js";
import { timeSideBySide, type Runner as TimingRunner } from "./timing.js";

/**
 * Seeds of the scenes the bundled model was trained, validated and calibrated on
 * (training/caption/recipe.sh): evaluating on them would report in-sample figures.
 */
export const RESERVED_SEEDS: ReadonlyMap<number, string> = new Map([
  [1, "training"],
  [2, "validation"],
  [3, "calibration"],
]);

/** Renders `count` scenes of `seed` to PNG files in a temporary folder. */
export async function writeScenes(seed: number, count: number): Promise<CaptionSet> {
  if (RESERVED_SEEDS.has(seed))
    throw new UsageError(
      `Seed ${seed} holds the ${RESERVED_SEEDS.get(seed)} scenes; evaluate on held-out scenes (e.g. seed 1000)`,
    );
  const scenes = generateScenes(seed, count);
  const dir = await mkdtemp(join(tmpdir(), "beem-scenes-"));
  const files: string[] = [];
  for (const s of scenes) {
    const file = join(dir, `${s.id}.png`);
    await writeFile(file, await renderScene(s));
    files.push(file);
  }
  return {
    ids: scenes.map((s) => s.id),
    scenes,
    files,
    refs: Object.fromEntries(scenes.map((s) => [s.id, s.captions])),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

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

/** Block size for timing against transformers.js (see `timeSideBySide`). */
export const TJS_BLOCK = 25;

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

/**
 * Intra-op threads transformers.js' sessions get by default in our timings: undefined, its own
 * default (onnxruntime-node 1.14 picks one thread per core, spinning), the fastest measured on
 * the 2-core development machine: 50 held-out scenes, 2 passes, 4.83 s per pass against 5.01 s
 * with 2 threads set and 5.74 s with 1 (`caption-eval --scenes 50 --repeats 2 --tjs-threads N`).
 */
export const TJS_DEFAULT_THREADS: number | undefined = undefined;

export function tjsThreadsLabel(threads: number | undefined): string {
  return threads === undefined
    ? "transformers.js 2.17 defaults (onnxruntime-node 1.14 session defaults)"
    : `transformers.js 2.17, onnxruntime-node 1.14 sessions with ${threads} intra-op thread${threads === 1 ? "" : "s"}`;
}

type SessionFactory = (model: unknown, options?: Record<string, unknown>) => Promise<unknown>;

export interface TransformersJsCaptioner {
  caption(file: string): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * transformers.js' image-to-text pipeline on the export of the same weights, timed against our
 * ways of captioning (`ours`) in blocks of TJS_BLOCK images. Times per repeat (medians are the
 * caller's); the captions of the last repeat.
 */
export async function transformersJsAgainst<K extends string>(
  captioner: Captioner,
  tjsDir: string,
  files: readonly string[],
  ours: Readonly<Record<K, Runner>>,
  options: { repeats?: number; onRepeat?: () => void; threads?: number | undefined } = {},
): Promise<{ texts: string[]; tjsMs: number[]; oursMs: Record<K, number[]> }> {
  const maxNewTokens = captioner.model.manifest.maxLength - 1;
  const pipe = await openTransformersJs(tjsDir, files[0]!, maxNewTokens, options.threads);
  try {
    const texts: string[] = [];
    const tjs: Runner = async (f, i) => (texts[i] = await pipe.caption(f));
    const ms = await timeSideBySide(files, { ...ours, [TJS_KEY]: tjs } as Record<string, Runner>, {
      repeats: options.repeats ?? 1,
      block: TJS_BLOCK,
      ...(options.onRepeat && { onRepeat: options.onRepeat }),
    });
    const { [TJS_KEY]: tjsMs, ...oursMs } = ms;
    return { texts, tjsMs: tjsMs!, oursMs: oursMs as Record<K, number[]> };
  } finally {
    await pipe.dispose();
  }
}

const TJS_KEY = "transformers.js";

/**
 * transformers.js' image-to-text pipeline on the export of the same weights, warmed up. With
 * `threads`, its onnxruntime sessions get that many intra-op threads (transformers.js 2.x has no
 * option for it: the session factory it uses is wrapped while the pipeline loads).
 */
export async function openTransformersJs(
  tjsDir: string,
  warmUpFile: string,
  maxNewTokens: number,
  threads?: number,
): Promise<TransformersJsCaptioner> {
  const { pipeline, env } = await import("@xenova/transformers");
  env.allowRemoteModels = false;
  env.localModelPath = dirname(tjsDir) + "/";
  // The onnxruntime-node (1.14) that transformers.js itself imports.
  const require = createRequire(fileURLToPath(import.meta.resolve("@xenova/transformers")));
  const sessions = (require("onnxruntime-node") as { InferenceSession: { create: SessionFactory } })
    .InferenceSession;
  const create = sessions.create;
  if (threads !== undefined)
    sessions.create = (model, options) =>
      create.call(sessions, model, {
        ...options,
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      });
  let pipe;
  try {
    pipe = await pipeline("image-to-text", basename(tjsDir), { quantized: false });
  } finally {
    sessions.create = create;
  }
  const caption = async (file: string) => {
    const out = (await pipe(file, { max_new_tokens: maxNewTokens })) as {
      generated_text: string;
    }[];
    return out[0]!.generated_text;
  };
  await caption(warmUpFile);
  return { caption, dispose: () => pipe.dispose() };
}
