// What caption-eval and caption-sweep share: held-out scenes written as image files (so timing
// includes image decoding, as a user's request would), captioning passes, paired timing of two
// ways of captioning, the token statistics of a pass, exit depth by scene difficulty, and
// transformers.js' image-to-text pipeline on the same weights.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import {
  ciderDScores,
  metricTokens,
  type CaptionOptions,
  type CaptionResult,
  type Captioner,
} from "@beem-ts/caption";
import { median } from "@beem-ts/core";
import { generateScenes, renderScene, type Scene } from "@beem-ts/scenes";
import { UsageError } from "./cli-error.js";

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
  const block = options.block ?? 1;
  const aMs: number[] = [];
  const bMs: number[] = [];
  for (let r = 0; r < options.repeats; r++) {
    const total = { a: 0, b: 0 };
    for (let start = 0, k = 0; start < files.length; start += block, k++) {
      const order = (k + r) % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const);
      for (const which of order) {
        const run = which === "a" ? a : b;
        const started = performance.now();
        for (let i = start; i < Math.min(files.length, start + block); i++) await run(files[i]!, i);
        total[which] += performance.now() - started;
      }
    }
    aMs.push(total.a);
    bMs.push(total.b);
    options.onRepeat?.();
  }
  return { aMs, bMs, speedup: median(bMs.map((t, r) => t / aMs[r]!)) };
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

export const TJS_THREADS = "transformers.js 2.17 defaults (onnxruntime-node session defaults)";

export interface TransformersJsCaptioner {
  caption(file: string): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * transformers.js' image-to-text pipeline on the export of the same weights, timed against one
 * of our ways of captioning (`ours`) in blocks of TJS_BLOCK images, one pass.
 */
export async function transformersJsAgainst(
  captioner: Captioner,
  tjsDir: string,
  files: readonly string[],
  ours: Runner,
): Promise<{ texts: string[]; tjsMs: number; oursMs: number }> {
  const maxNewTokens = captioner.model.manifest.maxLength - 1;
  const pipe = await openTransformersJs(tjsDir, files[0]!, maxNewTokens);
  try {
    const texts: string[] = [];
    const timing = await pairedTiming(
      files,
      async (f, i) => (texts[i] = await pipe.caption(f)),
      ours,
      {
        repeats: 1,
        block: TJS_BLOCK,
      },
    );
    return { texts, tjsMs: timing.aMs[0]!, oursMs: timing.bMs[0]! };
  } finally {
    await pipe.dispose();
  }
}

/** transformers.js' image-to-text pipeline on the export of the same weights, warmed up. */
export async function openTransformersJs(
  tjsDir: string,
  warmUpFile: string,
  maxNewTokens: number,
): Promise<TransformersJsCaptioner> {
  const { pipeline, env } = await import("@xenova/transformers");
  env.allowRemoteModels = false;
  env.localModelPath = dirname(tjsDir) + "/";
  const pipe = await pipeline("image-to-text", basename(tjsDir), { quantized: false });
  const caption = async (file: string) => {
    const out = (await pipe(file, { max_new_tokens: maxNewTokens })) as {
      generated_text: string;
    }[];
    return out[0]!.generated_text;
  };
  await caption(warmUpFile);
  return { caption, dispose: () => pipe.dispose() };
}
