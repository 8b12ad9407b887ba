// File input and output for the commands: inputs checked to be regular files before they are
// read, logs read line by line, outputs written atomically.
import { createReadStream, statSync, type Stats } from "node:fs";
import { open, readFile, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import {
  BeemError,
  ExitTableBuilder,
  addParsedSample,
  parseExitLogLine,
  parsePolicy,
  type ExitTable,
  type Policy,
} from "@beem-ts/core";

/** What a path that is not a regular file names instead, for messages. */
export function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a regular file";
}

function cannotRead(path: string, cause: unknown): BeemError {
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

/** Reads a JSON Lines exit log; errors name the file, line and field. */
export async function readExitLog(path: string): Promise<ExitTable> {
  checkRegularFile(path);
  const builder = new ExitTableBuilder();
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number++;
      const where = `${path}:${number}`;
      const sample = parseExitLogLine(number === 1 ? stripBom(line) : line, where);
      if (sample !== undefined) addParsedSample(builder, sample, where);
    }
  } catch (cause) {
    if (cause instanceof BeemError) throw cause;
    throw cannotRead(path, cause);
  }
  if (builder.size === 0)
    throw new BeemError("INVALID_EXIT_LOG", `${path}: the exit log has no samples`);
  return builder.build();
}

export async function readPolicy(path: string): Promise<Policy> {
  checkRegularFile(path);
  let text: string;
  try {
    text = stripBom(await readFile(path, "utf8"));
  } catch (cause) {
    throw cannotRead(path, cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new BeemError("INVALID_POLICY", `${path}: not valid JSON (${(cause as Error).message})`, {
      cause,
    });
  }
  return parsePolicy(value, { source: path });
}

/** Writes the whole file or nothing: a temporary file renamed into place. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, content);
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true });
    throw new BeemError(
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
export function cannotWrite(path: string, cause: unknown): BeemError {
  const code = (cause as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? `its folder ${dirname(resolve(path))} does not exist`
      : code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? `no permission to write in ${dirname(resolve(path))} (${code})`
        : (cause as Error).message;
  return new BeemError("WRITE_FAILED", `${path}: cannot write the file (${why})`, { cause });
}

/**
 * Opens `path` for writing whole: refused at once (before any work) when it is a folder or
 * special file (NOT_A_FILE) or cannot be created (WRITE_FAILED, naming the missing folder or the
 * permission); lines go to a temporary file beside it.
 */
export async function openOutput(path: string): Promise<OutputFile> {
  const stat = statIfExists(path);
  if (stat !== undefined && !stat.isFile())
    throw new BeemError("NOT_A_FILE", `${path}: not a regular file (${kindOf(stat)})`);
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
