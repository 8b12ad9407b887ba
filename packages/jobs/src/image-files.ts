// Image paths from the command line: files as given, folders walked for image files (sorted,
// symbolic links followed only when they stay inside the folder given).
import { readdirSync, realpathSync, statSync } from "node:fs";
import { extname, join, relative, isAbsolute } from "node:path";
import { checkNotSpecial, kindOf, symlinkLoop } from "@beem-ts/runtime";

export const IMAGE_EXTENSIONS = new Set([
  ".jpg",
  ".jpeg",
  ".png",
  ".webp",
  ".gif",
  ".avif",
  ".tif",
  ".tiff",
  ".heic",
]);

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

export interface WalkOptions {
  /**
   * Told of each entry skipped for a reason the user should hear (a symbolic link loop, a broken
   * link, a FIFO or device named like an image), as a line such as `DIR/x.png: skipped, a
   * symbolic link loop`. Default: none told. Links leaving the folder are skipped by design,
   * without a word.
   */
  readonly onSkipped?: (line: string) => void;
}

/** Every image file under `folder` (by extension), sorted; links leaving the folder skipped. */
export function walkImages(folder: string, options: WalkOptions = {}): string[] {
  const root = realpathSync(folder);
  const out: string[] = [];
  const seen = new Set<string>();
  const skip = (path: string, why: string) => options.onSkipped?.(`${path}: skipped, ${why}`);
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      let real: string;
      try {
        real = realpathSync(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ELOOP") skip(path, "a symbolic link loop");
        else if (code === "ENOENT") skip(path, "a broken symbolic link");
        else skip(path, `cannot be read (${code ?? (error as Error).message})`);
        continue;
      }
      if (!inside(root, real) || seen.has(real)) continue;
      const stat = statSync(real);
      const image = IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
      if (stat.isDirectory()) {
        seen.add(real);
        visit(path);
      } else if (stat.isFile() && image) {
        seen.add(real);
        out.push(path);
      } else if (!stat.isFile() && image) skip(path, `not a regular file (${kindOf(stat)})`);
    }
  };
  visit(folder);
  return out;
}

/**
 * Files as given (whatever their extension: the captioner says if one is not an image), folders
 * walked. A path that is a FIFO, a device or a symbolic link loop is refused before anything is
 * read (NOT_A_FILE, SYMLINK_LOOP); a missing one is kept, for the captioner to report in its place.
 */
export function expandImagePaths(paths: readonly string[], options: WalkOptions = {}): string[] {
  return paths.flatMap((p) => {
    let stat;
    try {
      stat = statSync(p);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ELOOP") throw symlinkLoop(p, error);
      return [p]; // reported as FILE_NOT_FOUND by the captioner, in its place
    }
    if (stat.isDirectory()) return walkImages(p, options);
    checkNotSpecial(p);
    return [p];
  });
}
