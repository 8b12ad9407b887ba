// Output files written whole or not at all: a temporary file beside the target, renamed into
// place, so that a reader never sees half a file and a failed run leaves the old one.
import { open, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { kindOf, statIfExists } from "@beem-ts/runtime";
import { JobsError } from "./errors.js";

/** Writes the whole file or nothing: a temporary file renamed into place. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, content);
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true });
    throw new JobsError(
      "WRITE_FAILED",
      `${path}: cannot write the file (${(cause as Error).message})`,
      { cause },
    );
  }
}

/** A file written line by line into a temporary file that `commit()` renames into place. */
export interface OutputFile {
  write(line: string): Promise<void>;
  /** Writes what is buffered and renames the file into place. */
  commit(): Promise<void>;
  /** Removes the temporary file unless committed (safe to call after `commit()`). */
  discard(): Promise<void>;
}

/** WRITE_FAILED for `path`, naming a missing folder or a missing permission in words. */
export function cannotWrite(path: string, cause: unknown): JobsError {
  const code = (cause as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? `its folder ${dirname(resolve(path))} does not exist`
      : code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? `no permission to write in ${dirname(resolve(path))} (${code})`
        : (cause as Error).message;
  return new JobsError("WRITE_FAILED", `${path}: cannot write the file (${why})`, { cause });
}

/**
 * Opens `path` for writing whole: refused at once (before any work) when it is a folder or
 * special file (NOT_A_FILE) or cannot be created (WRITE_FAILED, naming the missing folder or the
 * permission); lines go to a temporary file beside it.
 */
export async function openOutput(path: string): Promise<OutputFile> {
  const stat = statIfExists(path);
  if (stat !== undefined && !stat.isFile())
    throw new JobsError("NOT_A_FILE", `${path}: not a regular file (${kindOf(stat)})`);
  const temporary = `${path}.${process.pid}.tmp`;
  let file: FileHandle;
  try {
    file = await open(temporary, "w");
  } catch (cause) {
    throw cannotWrite(path, cause);
  }
  let buffer = "";
  let state: "open" | "committed" | "discarded" = "open";
  const flush = async () => {
    const text = buffer;
    buffer = "";
    try {
      await file.write(text);
    } catch (cause) {
      throw cannotWrite(path, cause);
    }
  };
  return {
    async write(line) {
      buffer += line + "\n";
      if (buffer.length >= 1 << 16) await flush();
    },
    async commit() {
      await flush();
      await file.close();
      try {
        await rename(temporary, path);
      } catch (cause) {
        throw cannotWrite(path, cause);
      }
      state = "committed";
    },
    async discard() {
      if (state !== "open") return;
      state = "discarded";
      await file.close().catch(() => undefined); // already closed when commit() failed
      await rm(temporary, { force: true });
    },
  };
}
