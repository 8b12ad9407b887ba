// Input files checked before they are read: a folder would fail with EISDIR, a FIFO or a device
// would be read forever, a link loop would read as a missing file. Errors name the path.
import { statSync, type Stats } from "node:fs";
import { BeemError } from "@beem-ts/core";

/** What a path that is not a regular file names instead, for messages. */
export function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a regular file";
}

/** FILE_NOT_FOUND for `path` that cannot be read, with the reason (ENOENT, EACCES, ...). */
export function cannotRead(path: string, cause: unknown): BeemError {
  const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
  return new BeemError("FILE_NOT_FOUND", `${path}: cannot read the file (${code})`, { cause });
}

/** A symbolic link loop (ELOOP), named as such rather than as a missing file. */
export function symlinkLoop(path: string, cause?: unknown): BeemError<"SYMLINK_LOOP"> {
  return new BeemError(
    "SYMLINK_LOOP",
    `${path}: a symbolic link loop (the links lead back to themselves)`,
    { cause },
  );
}

/**
 * Refuses, before anything is read, a path that is not a readable regular file: missing
 * (FILE_NOT_FOUND), a link loop (SYMLINK_LOOP), or a folder, FIFO or device (NOT_A_FILE: reading
 * one would fail with EISDIR or wait forever).
 */
export function checkRegularFile(path: string): void {
  checkFile(path, { missing: "refuse" });
}

/**
 * Refuses a path that exists but is a folder, FIFO or device (NOT_A_FILE), or is a symbolic link
 * loop (SYMLINK_LOOP); a missing path passes (whoever reads it reports it in its place).
 */
export function checkNotSpecial(path: string): void {
  checkFile(path, { missing: "pass" });
}

function checkFile(path: string, options: { missing: "refuse" | "pass" }): void {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ELOOP") throw symlinkLoop(path, cause);
    if (options.missing === "pass") return;
    throw cannotRead(path, cause);
  }
  if (!stat.isFile())
    throw new BeemError("NOT_A_FILE", `${path}: not a regular file (${kindOf(stat)})`);
}

/** Text without the UTF-8 byte order mark some editors put at its start. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The file's status, or undefined when there is none (any other problem is thrown). */
export function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw symlinkLoop(path, cause);
    throw cannotRead(path, cause);
  }
}
