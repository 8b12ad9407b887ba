// Scenes rendered into a folder, one image file each.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderScene, type RenderOptions } from "./render.js";
import type { Scene } from "./scene.js";

export interface SceneFileOptions extends RenderOptions {
  /** Called after each image is written with how many are done, of how many. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Renders each scene into `dir` (made if missing) as `scene-<id>.png` (`.jpg`, `.webp` for the
 * other formats), in order; returns the scenes with the file name of each, for a scenes.jsonl.
 */
export async function writeSceneImages(
  scenes: readonly Scene[],
  dir: string,
  options: SceneFileOptions = {},
): Promise<(Scene & { readonly file: string })[]> {
  const format = options.format ?? "png";
  await mkdir(dir, { recursive: true });
  const written: (Scene & { file: string })[] = [];
  for (const [k, scene] of scenes.entries()) {
    const file = `scene-${scene.id}.${format === "jpeg" ? "jpg" : format}`;
    await writeFile(join(dir, file), await renderScene(scene, { format }));
    written.push({ ...scene, file });
    options.onProgress?.(k + 1, scenes.length);
  }
  return written;
}
