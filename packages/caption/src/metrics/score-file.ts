// Scores read from a JSON file of references and candidates (what `beem score` reads).
import { readFile, stat } from "node:fs/promises";
import { BeemError } from "@beem-ts/core";
import { kindOf } from "@beem-ts/runtime";
import { scoreCaptions, type CaptionScores, type ScoreInput } from "./score.js";

/**
 * `scoreCaptions` of the file's `{"refs": {"id": ["reference", ...]}, "cands": {"id": "caption"}}`
 * (a UTF-8 byte order mark allowed). Errors name the file: INVALID_INPUT when it cannot be read as
 * a JSON object of that shape, else `scoreCaptions`' own.
 */
export async function scoreCaptionFile(path: string): Promise<CaptionScores> {
  let input: unknown;
  try {
    // A FIFO or a device would be read forever; a folder fails with EISDIR below.
    const stats = await stat(path).catch(() => undefined);
    if (stats !== undefined && !stats.isFile() && !stats.isDirectory())
      throw new Error(`${kindOf(stats)}, not a file`);
    const text = await readFile(path, "utf8");
    input = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (cause) {
    const why = (cause as Error).message;
    throw new BeemError("INVALID_INPUT", `${path}: cannot read a JSON object (${why})`, { cause });
  }
  const record = input as Partial<ScoreInput> | null;
  if (
    typeof record !== "object" ||
    record === null ||
    typeof record.refs !== "object" ||
    record.refs === null ||
    typeof record.cands !== "object" ||
    record.cands === null
  ) {
    throw new BeemError("INVALID_INPUT", `${path}: expected {"refs": {...}, "cands": {...}}`);
  }
  try {
    return scoreCaptions(record as ScoreInput);
  } catch (error) {
    if (error instanceof BeemError)
      throw new BeemError(error.code, `${path}: ${error.message}`, { cause: error });
    throw error;
  }
}
