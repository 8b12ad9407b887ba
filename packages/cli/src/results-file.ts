// The --out file of `beem caption`: one JSON line per image, appended and flushed as each image
// is done, so that an interrupted run loses at most the line being written; --resume reads back
// the images already done and carries on after them.
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  truncateSync,
  writeSync,
} from "node:fs";
import type { CaptionResult } from "@beem-ts/caption";
import { BeemError, type Policy } from "@beem-ts/core";
import { UsageError } from "./cli-error.js";

/** One image's result line, as `caption --out` and `jobs results` write it. */
export function resultRecord(
  image: string,
  r: CaptionResult,
  model: string,
  policy: Policy,
): { readonly image: string } & Record<string, unknown> {
  return {
    image,
    text: r.text,
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
  };
}

/** An image that could not be captioned, as a result line. */
export function errorRecord(image: string, error: { code: string; message: string }) {
  return { image, error: { code: error.code, message: error.message } };
}

export interface ResultsFile {
  /** Images already in the file (their `image` field). */
  readonly done: ReadonlySet<string>;
  write(record: { readonly image: string } & Record<string, unknown>): void;
  close(): void;
}

export function openResults(path: string, resume: boolean): ResultsFile {
  const done = new Set<string>();
  if (existsSync(path)) {
    const text = readFileSync(path, "utf8");
    if (!resume && text.length > 0)
      throw new UsageError(
        `${path} already holds results: give --resume to carry on with it, or another --out`,
      );
    // A line cut short by an interruption (no final newline) is dropped and redone.
    const end = text.lastIndexOf("\n") + 1;
    if (end < text.length) truncateSync(path, end);
    text
      .slice(0, end)
      .split("\n")
      .forEach((line, i) => {
        if (line.trim() === "") return;
        let record: unknown;
        try {
          record = JSON.parse(line);
        } catch {
          throw new BeemError("INVALID_INPUT", `${path}:${i + 1}: not a results line (bad JSON)`);
        }
        const image = (record as { image?: unknown }).image;
        if (typeof image !== "string")
          throw new BeemError("INVALID_INPUT", `${path}:${i + 1}: a results line has no "image"`);
        done.add(image);
      });
  }
  let fd: number;
  try {
    fd = openSync(path, "a");
  } catch (cause) {
    throw new BeemError("WRITE_FAILED", `${path}: cannot write (${(cause as Error).message})`, {
      cause,
    });
  }
  return {
    done,
    write(record) {
      writeSync(fd, JSON.stringify(record) + "\n");
      fsyncSync(fd);
    },
    close: () => closeSync(fd),
  };
}
