// Held-out synthetic scenes as a caption set: the images models/caption-beem knows, rendered to
// files.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateScenes, renderScene } from "@beem-ts/scenes";
import type { CaptionSet } from "./caption-data.js";
import { BenchError } from "./errors.js";

/**
 * Seeds of the scenes the bundled model was trained, validated and calibrated on
 * (training/caption/recipe.sh): evaluating on them would report in-sample figures.
 */
export const RESERVED_SEEDS: ReadonlyMap<number, string> = new Map([
  [1, "training"],
  [2, "validation"],
  [3, "calibration"],
]);

export interface SceneSetOptions {
  /** How many scenes. */
  readonly count: number;
  /** Their seed. Default 1000 (held out; 1-3 are refused, see RESERVED_SEEDS). */
  readonly seed?: number;
}

/**
 * Renders `count` synthetic scenes of `seed` to PNG files in a temporary folder (so that timing
 * includes image decoding, as a user's request would); `remove()` deletes them. Throws a
 * BenchError RESERVED_SEED for the seeds of the scene model's own data.
 */
export async function writeScenes(options: SceneSetOptions): Promise<CaptionSet> {
  const { count, seed = 1000 } = options;
  if (RESERVED_SEEDS.has(seed))
    throw new BenchError(
      "RESERVED_SEED",
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
    source: { kind: "scenes", scenes: count, seed },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
