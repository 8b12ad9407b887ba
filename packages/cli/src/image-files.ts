// Image paths from the command line: files as given, folders walked for image files (sorted,
// symbolic links followed only when they stay inside the folder given).
import { readdirSync, realpathSync, statSync } from "node:fs";
import { extname, join, relative, isAbsolute } from "node:path";

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

/** Every image file under `folder` (by extension), sorted; links leaving the folder skipped. */
export function walkImages(folder: string): string[] {
  const root = realpathSync(folder);
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      let real: string;
      try {
        real = realpathSync(path);
      } catch {
        continue; // a dangling link
      }
      if (!inside(root, real) || seen.has(real)) continue;
      const stat = statSync(real);
      if (stat.isDirectory()) {
        seen.add(real);
        visit(path);
      } else if (stat.isFile() && IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) {
        seen.add(real);
        out.push(path);
      }
    }
  };
  visit(folder);
  return out;
}

/** Files as given (whatever their extension: the captioner says if one is not an image), folders walked. */
export function expandImagePaths(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    let stat;
    try {
      stat = statSync(p);
    } catch {
      return [p]; // reported as FILE_NOT_FOUND by the captioner, in its place
    }
    return stat.isDirectory() ? walkImages(p) : [p];
  });
}
