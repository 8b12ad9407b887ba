// Scenes rendered into a folder, one image file each.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BeemError, checkOneOf } from "@beem-ts/core";
import { renderScene, type RenderOptions } from "./render.js";
import type { Scene } from "./scene.js";

export interface SceneFileOptions extends RenderOptions {
  /** Called after each image is written with how many are done, of how many. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Renders each scene into `dir` (made if missing) as `scene-<id>.png` (`.jpg`, `.webp` for the
 * other formats), in order; returns the scenes with the file name of each, for a scenes.jsonl.
 * Another format is refused (INVALID_ARGUMENT) before anything is made; a folder that cannot be
 * made or written to is WRITE_FAILED naming the path and why (ENOTDIR, EEXIST, EACCES, ...).
 */
export async function writeSceneImages(
  scenes: readonly Scene[],
  dir: string,
  options: SceneFileOptions = {},
): Promise<(Scene & { readonly file: string })[]> {
  const format = checkOneOf("format", options.format ?? "png", ["png", "jpeg", "webp"]);
  await mkdir(dir, { recursive: true }).catch((cause: unknown) => {
    throw cannotWrite(dir, "cannot make the folder", cause);
  });
  const written: (Scene & { file: string })[] = [];
  for (const [k, scene] of scenes.entries()) {
    const file = `scene-${scene.id}.${format === "jpeg" ? "jpg" : format}`;
    const image = await renderScene(scene, { format });
    await writeFile(join(dir, file), image).catch((cause: unknown) => {
      throw cannotWrite(join(dir, file), "cannot write the file", cause);
    });
    written.push({ ...scene, file });
    options.onProgress?.(k + 1, scenes.length);
  }
  return written;
}

function cannotWrite(path: string, what: string, cause: unknown): BeemError {
  const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
  const why = code === "EEXIST" || code === "ENOTDIR" ? "a file is in the way" : code;
  return new BeemError("WRITE_FAILED", `${path}: ${what} (${why})`, { cause });
}
