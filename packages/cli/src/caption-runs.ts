// What caption-eval and caption-sweep share: held-out scenes written as image files (so timing
// includes image decoding, as a user's request would), timed captioning passes, the token
// statistics of a pass, and transformers.js' image-to-text pipeline on the same weights.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { CaptionOptions, CaptionResult, Captioner } from "@beem-ts/caption";
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

export function tokenStats(
  early: readonly CaptionResult[],
  full: readonly CaptionResult[],
): TokenStats {
  let steps = 0;
  let layers = 0;
  let agree = 0;
  let compared = 0;
  early.forEach((r, i) => {
    steps += r.tokens.length + 1;
    layers += r.meanExitLayer * (r.tokens.length + 1);
    full[i]!.tokens.forEach((t, k) => {
      compared++;
      if (r.tokens[k]?.id === t.id) agree++;
    });
  });
  return {
    meanExitLayer: steps === 0 ? 0 : layers / steps,
    tokenAgreement: compared === 0 ? 1 : agree / compared,
  };
}

export const TJS_THREADS = "transformers.js 2.17 defaults (onnxruntime-node session defaults)";

/** transformers.js' image-to-text pipeline over the files (after one warm-up caption). */
export async function transformersJsPass(
  tjsDir: string,
  files: readonly string[],
  maxNewTokens: number,
): Promise<{ ms: number; texts: string[] }> {
  const { pipeline, env } = await import("@xenova/transformers");
  env.allowRemoteModels = false;
  env.localModelPath = dirname(tjsDir) + "/";
  const pipe = await pipeline("image-to-text", basename(tjsDir), { quantized: false });
  try {
    await pipe(files[0]!);
    const started = performance.now();
    const texts: string[] = [];
    for (const f of files) {
      const out = (await pipe(f, { max_new_tokens: maxNewTokens })) as {
        generated_text: string;
      }[];
      texts.push(out[0]!.generated_text);
    }
    return { ms: performance.now() - started, texts };
  } finally {
    await pipe.dispose();
  }
}
