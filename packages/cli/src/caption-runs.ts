// What caption-eval and caption-sweep share: held-out scenes written as image files (so timing
// includes image decoding, as a user's request would), captioning passes, paired timing of two
// ways of captioning, the token statistics of a pass, exit depth by scene difficulty, and
// transformers.js' image-to-text pipeline on the same weights.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ciderDScores,
  metricTokens,
  type CaptionOptions,
  type CaptionResult,
  type Captioner,
} from "@beem-ts/caption";
import { generateScenes, renderScene, type Scene } from "@beem-ts/scenes";
import { UsageError } from "./cli-error.js";
import { pairedSpeedup } from "./paired.js";

export { pairedSpeedup };

export interface SceneFiles {
  readonly scenes: readonly Scene[];
  readonly files: readonly string[];
  /** The five reference captions of each scene, by scene id. */
  readonly refs: Readonly<Record<string, readonly string[]>>;
  remove(): Promise<void>;
}

/** Renders `count` scenes of `seed` to PNG files in a temporary folder. */
export async function writeScenes(seed: number, count: number): Promise<SceneFiles> {
  if (seed <= 2)
    throw new UsageError(
      "Seeds 1 and 2 are the training and validation scenes; evaluate on another",
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
    scenes,
    files,
    refs: Object.fromEntries(scenes.map((s) => [s.id, s.captions])),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface Pass {
  readonly ms: number;
  readonly results: CaptionResult[];
}

/** Captions every file in turn, one image at a time, timed as a whole. */
export async function captionPass(
  captioner: Captioner,
  files: readonly string[],
  options: CaptionOptions,
): Promise<Pass> {
  const started = performance.now();
  const results: CaptionResult[] = [];
  for (const f of files) results.push(await captioner.caption(f, options));
  return { ms: performance.now() - started, results };
}

/** A runner that keeps each file's caption (decoding is deterministic: every pass gives the same). */
export function recording(
  captioner: Captioner,
  options: CaptionOptions,
): { run: Runner; results: CaptionResult[] } {
  const results: CaptionResult[] = [];
  return {
    run: async (file, index) => (results[index] = await captioner.caption(file, options)),
    results,
  };
}

export interface PairedTiming {
  /** Per repeat, the total time of all files with each runner. */
  readonly aMs: number[];
  readonly bMs: number[];
  /** Median over repeats of bMs / aMs: how much faster `a` is than `b`. */
  readonly speedup: number;
}

export type Runner = (file: string, index: number) => Promise<unknown>;

/**
 * Times two ways of captioning side by side: the files go in blocks of `block`, each block
 * through both ways one right after the other (which goes first alternates), so that the
 * machine's load, which drifts on a shared machine, weighs on both alike. Block 1 pairs image by
 * image; larger blocks keep another runtime's thread pool (transformers.js spins its threads
 * after each run) from slowing the next image of the other way. Each repeat goes over all files.
 */
export async function pairedTiming(
  files: readonly string[],
  a: Runner,
  b: Runner,
  options: { repeats: number; block?: number; onRepeat?: () => void },
): Promise<PairedTiming> {
  const ms = await blockTiming(files, { a, b }, options);
  return { aMs: ms.a, bMs: ms.b, speedup: pairedSpeedup(ms.a, ms.b) };
}

/**
 * `pairedTiming` for any number of runners: per repeat, each runner's total time over all
 * files, the files going in blocks through every runner in turn (order rotating block by block).
 */
export async function blockTiming<K extends string>(
  files: readonly string[],
  runners: Readonly<Record<K, Runner>>,
  options: { repeats: number; block?: number; onRepeat?: () => void },
): Promise<Record<K, number[]>> {
  const block = options.block ?? 1;
  const names = Object.keys(runners) as K[];
  const ms = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < options.repeats; r++) {
    for (const n of names) ms[n].push(0);
    for (let start = 0, k = 0; start < files.length; start += block, k++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(j + k + r) % names.length]!;
        const started = performance.now();
        for (let i = start; i < Math.min(files.length, start + block); i++)
          await runners[name](files[i]!, i);
        ms[name][r]! += performance.now() - started;
      }
    }
    options.onRepeat?.();
  }
  return ms;
}

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
 * Times several ways of captioning side by side: each image goes through every way one right
 * after the other (the order rotates image by image and repeat by repeat), so that the machine's
 * load, which drifts on a shared machine, weighs on all alike. Each repeat goes over all files.
 * One warm-up caption per way first (the first run of each graph is slower).
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
  for (const n of names) await captioner.caption(files[0]!, ways[n]);
  for (let r = 0; r < options.repeats; r++) {
    for (const n of names) {
      out[n].ms.push(0);
      out[n].decodeMs.push(0);
      out[n].fixedMs.push(0);
    }
    for (const [i, file] of files.entries()) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + i + r) % names.length]!;
        const t = out[name];
        const started = performance.now();
        const result = await captioner.caption(file, ways[name]);
        t.ms[r]! += performance.now() - started;
        t.decodeMs[r]! += result.timings.decodeMs;
        t.fixedMs[r]! += result.timings.imageMs + result.timings.encoderMs;
        t.results[i] = result;
      }
    }
    options.onRepeat?.();
  }
  return out;
}

/** Block size for timing against transformers.js (see `pairedTiming`). */
export const TJS_BLOCK = 25;

/** Candidate captions by scene id, for scoring. */
export function candidates(set: SceneFiles, texts: readonly string[]): Record<string, string> {
  return Object.fromEntries(texts.map((t, i) => [set.scenes[i]!.id, t]));
}

export interface TokenStats {
  /** Mean exit layer over generated tokens, end tokens included. */
  readonly meanExitLayer: number;
  /** Fraction of full-depth tokens that early exit reproduced at the same position. */
  readonly tokenAgreement: number;
}

/** Mean exit layer over all the captions' generated tokens, end tokens included. */
export function meanExitLayer(results: readonly CaptionResult[]): number {
  let layers = 0;
  let steps = 0;
  for (const r of results) {
    layers += r.meanExitLayer * (r.tokens.length + 1);
    steps += r.tokens.length + 1;
  }
  return steps === 0 ? 0 : layers / steps;
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
    meanExitLayer: meanExitLayer(early),
    tokenAgreement: compared === 0 ? 1 : agree / compared,
  };
}

/**
 * Mean early-exit layer (over tokens, end tokens included) of the easiest, middle and hardest
 * third of the scenes, where a scene is as hard as its full-depth caption is poor (per-scene
 * CIDEr-D against its references): the model's own difficulty, not a guess from the layout.
 */
export function exitLayerByDifficulty(
  set: SceneFiles,
  full: readonly CaptionResult[],
  early: readonly CaptionResult[],
): { easy: number; medium: number; hard: number } {
  const refs = set.scenes.map((s) => s.captions.map(metricTokens));
  const scores = ciderDScores(
    full.map((r) => metricTokens(r.text)),
    refs,
  );
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const third = Math.ceil(order.length / 3);
  const mean = (indices: number[]) => meanExitLayer(indices.map((i) => early[i]!));
  return {
    easy: mean(order.slice(0, third)),
    medium: mean(order.slice(third, 2 * third)),
    hard: mean(order.slice(2 * third)),
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
    const ms = await blockTiming(files, { ...ours, [TJS_KEY]: tjs } as Record<string, Runner>, {
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
