// The resumable results file (`beem caption --out`): one JSON line per image, appended and
// flushed as each image is done, so that an interrupted run loses at most the line being
// written; resuming reads back the images already done (matched by real path) and carries on
// after them. A lock file keeps a second run from writing to it at the same time.
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { resolve } from "node:path";
import type { CaptionResult } from "@beem-ts/caption";
import type { Policy } from "@beem-ts/core";
import { JobsError } from "./errors.js";
import { kindOf, statIfExists, stripBom } from "@beem-ts/runtime";
import { lockOutput } from "./output-lock.js";

/**
 * One image's result line, as `caption --out` and `jobs results` write it. The caption is
 * `caption`, as in the HTTP API; `text` repeats it for readers of 0.1 lines until the next
 * release (lines that have only `text` are still read by --resume, which reads `image` alone).
 */
export function resultRecord(
  image: string,
  r: CaptionResult,
  model: string,
  policy: Policy,
): { readonly image: string } & Record<string, unknown> {
  return {
    image,
    caption: r.text,
    tokens: r.tokens.map((t) => ({
      text: t.text,
      id: t.id,
      exitLayer: t.exitLayer,
      confidence: t.confidence,
    })),
    // One layer per token, as the tokens; the end token's apart (both count in meanExitLayer).
    exitLayers: r.tokens.map((t) => t.exitLayer),
    endExitLayer: r.endExitLayer,
    meanExitLayer: r.meanExitLayer,
    timings: r.timings,
    model,
    policy: { rule: policy.rule, lambda: policy.lambda ?? null },
    /** @deprecated the caption again, under its old name; removed in the next release. */
    text: r.text,
  };
}

/** An image that could not be captioned, as a result line. */
export function errorRecord(image: string, error: { code: string; message: string }) {
  return { image, error: { code: error.code, message: error.message } };
}

export interface ResultsFile {
  /** Whether the file has a line for this image already (by real path: relative or absolute, through links). */
  has(image: string): boolean;
  /** Lines whose image is no longer there (its path, as written). */
  readonly gone: readonly string[];
  /** Unreadable lines moved to `rejected` by `repair`. */
  readonly repaired: number;
  /** Where `repair` puts the unreadable lines (FILE.rejected). */
  readonly rejected: string;
  /** The lock taken over from a run that is gone, if any (its pid). */
  readonly tookOverFrom?: number;
  /** Appends one line and waits until it is on disk (fsync). */
  write(record: { readonly image: string } & Record<string, unknown>): void;
  /** Closes the file and releases its lock. */
  close(): void;
}

/** The real path of an image (links resolved), or undefined when it is no longer there. */
export function realImagePath(image: string): string | undefined {
  try {
    return realpathSync(resolve(image));
  } catch {
    return undefined; // missing (or a link loop): the image is not there to caption
  }
}

interface Lines {
  /** The images of the readable lines. */
  readonly images: string[];
  /** Unreadable lines with their line numbers. */
  readonly bad: { readonly number: number; readonly line: string; readonly why: string }[];
}

function readLines(text: string): Lines {
  const images: string[] = [];
  const bad: Lines["bad"][number][] = [];
  stripBom(text)
    .split("\n")
    .forEach((line, i) => {
      if (line.trim() === "") return;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        bad.push({ number: i + 1, line, why: "bad JSON" });
        return;
      }
      const image = (record as { image?: unknown } | null)?.image;
      if (typeof image !== "string") bad.push({ number: i + 1, line, why: `no "image"` });
      else images.push(image);
    });
  return { images, bad };
}

export interface OpenResultsOptions {
  /** Carry on with a file that holds results (default false: such a file is RESULTS_EXIST). */
  readonly resume?: boolean;
  /** Move unreadable lines to FILE.rejected instead of stopping (default false). */
  readonly repair?: boolean;
  /**
   * How messages name the options, for a caller whose users set them otherwise (the CLI:
   * `{ resume: "--resume", repair: "--repair", file: "--out" }`). Default: `resume: true`,
   * `repair: true` and "file".
   */
  readonly names?: { readonly resume: string; readonly repair: string; readonly file: string };
  /** Told what opening did besides reading: a stale lock taken over, lines moved aside. */
  readonly log?: (line: string) => void;
}

const NAMES = { resume: "resume: true", repair: "repair: true", file: "file" } as const;

/**
 * Opens a results file (created if missing), locked against a second run (FILE.lock), with the
 * images it holds already. A last line cut short by an interruption is dropped (it is redone);
 * other unreadable lines stop (INVALID_INPUT, naming the line), or with `repair` are moved to
 * FILE.rejected (never deleted). Throws RESULTS_EXIST for a file with results unless `resume`,
 * OUTPUT_LOCKED while another run holds the lock, NOT_A_FILE for a folder or special file.
 */
export function openResults(path: string, options: OpenResultsOptions = {}): ResultsFile {
  const names = options.names ?? NAMES;
  const stat = statIfExists(path);
  if (stat !== undefined && !stat.isFile())
    throw new JobsError("NOT_A_FILE", `${path}: not a regular file (${kindOf(stat)})`);
  const lock = lockOutput(path);
  const rejected = `${path}.rejected`;
  try {
    let lines: Lines = { images: [], bad: [] };
    if (stat !== undefined) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch (cause) {
        const why = (cause as Error).message;
        throw new JobsError("FILE_NOT_FOUND", `${path}: cannot read (${why})`, { cause });
      }
      if (options.resume !== true && bytes.length > 0)
        throw new JobsError(
          "RESULTS_EXIST",
          `${path} already holds results: give ${names.resume} to carry on with it, or another ${names.file}`,
        );
      // The cut is at a byte offset: a character offset into the decoded text would cut
      // further back than the last newline as soon as a line holds a non-ASCII character.
      const end = bytes.lastIndexOf(0x0a) + 1;
      if (end < bytes.length) truncateSync(path, end);
      const text = bytes.subarray(0, end).toString("utf8");
      lines = readLines(text);
      const first = lines.bad[0];
      if (first !== undefined && options.repair !== true)
        throw new JobsError(
          "INVALID_INPUT",
          `${path}:${first.number}: not a results line (${first.why})` +
            (lines.bad.length > 1 ? `, and ${lines.bad.length - 1} more unreadable lines` : "") +
            `; give ${names.repair} to move unreadable lines to ${rejected} and carry on`,
        );
      if (lines.bad.length > 0) repair(path, text, rejected);
    }
    const done = new Set<string>();
    const gone: string[] = [];
    for (const image of lines.images) {
      const real = realImagePath(image);
      if (real === undefined) gone.push(image);
      else done.add(real);
    }
    let fd: number;
    try {
      fd = openSync(path, "a");
    } catch (cause) {
      throw new JobsError("WRITE_FAILED", `${path}: cannot write (${(cause as Error).message})`, {
        cause,
      });
    }
    if (lock.tookOver)
      options.log?.(
        `took over the lock of ${path} left by process ${lock.tookOver.pid}, which is no longer running`,
      );
    if (lines.bad.length > 0)
      options.log?.(`moved ${lines.bad.length} unreadable lines from ${path} to ${rejected}`);
    return {
      has: (image) => {
        const real = realImagePath(image);
        return real !== undefined && done.has(real);
      },
      gone,
      repaired: lines.bad.length,
      rejected,
      ...(lock.tookOver && { tookOverFrom: lock.tookOver.pid }),
      write(record) {
        writeSync(fd, JSON.stringify(record) + "\n");
        fsyncSync(fd);
      },
      close: () => {
        closeSync(fd);
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * The unreadable lines of `text` appended to `rejected` (flushed), then the file rewritten
 * without them (a temporary file renamed into place): no line is ever only in memory.
 */
function repair(path: string, text: string, rejected: string): void {
  const keep: string[] = [];
  const drop: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    (readLines(line).bad.length > 0 ? drop : keep).push(line);
  }
  try {
    writeDurably(rejected, drop.join("\n") + "\n", "a");
    const temporary = `${path}.${process.pid}.tmp`;
    writeDurably(temporary, keep.map((l) => l + "\n").join(""), "w");
    renameSync(temporary, path);
  } catch (cause) {
    throw new JobsError(
      "WRITE_FAILED",
      `${path}: cannot repair (${(cause as Error).message}); the file is unchanged`,
      { cause },
    );
  }
}

/** Writes `text` to `path` and waits until it is on disk. */
function writeDurably(path: string, text: string, flags: "a" | "w"): void {
  const fd = openSync(path, flags);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The paths without repeats of the same file (compared by real path; missing ones as given). */
export function uniqueByRealPath(paths: readonly string[]): string[] {
  const seen = new Set<string>();
  return paths.filter((path) => {
    const key = realImagePath(path) ?? path;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
