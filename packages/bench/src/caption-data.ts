// Caption data sets on disk: JSON Lines, one image per line, as the Flickr8k folder in
// ../shared/data/captions/flickr8k-1k keeps them:
//
//   {"image": "images/1000268201_693b08cb0e.jpg", "split": "test", "captions": ["A child ...", ...]}
//
// `image` is relative to the file's folder (or absolute), `split` any name (train, dev, test),
// `captions` the human references (at least one). evaluateCaptions and sweepCaptions caption
// one split of it (`loadCaptionSplit`); the nearest-neighbour baseline borrows captions from the
// train split.
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Scene } from "@beem-ts/scenes";
import { BenchError } from "./errors.js";

/** Images to caption with their references, from generated scenes or a caption data set. */
export interface CaptionSet {
  /** One id per image (a scene id, or the image's path as the data set names it). */
  readonly ids: readonly string[];
  /** The image files, in the same order. */
  readonly files: readonly string[];
  /** Human (or scene) reference captions by id. */
  readonly refs: Readonly<Record<string, readonly string[]>>;
  /** The generated scenes, when the set is synthetic (the breakdowns by object need them). */
  readonly scenes?: readonly Scene[];
  /** Where the images came from, for reports. */
  readonly source: CaptionSetSource;
  /** Deletes what the set wrote (the rendered scenes); nothing for a data set. */
  remove(): Promise<void>;
}

/** Where a caption set's images came from. */
export type CaptionSetSource =
  | { readonly kind: "scenes"; readonly scenes: number; readonly seed: number }
  | {
      readonly kind: "data";
      /** The data set's file, as given to `loadCaptionSplit`. */
      readonly data: string;
      readonly split: string;
      readonly images: number;
      /** Every row of the data set (the baselines borrow from its train split). */
      readonly rows: readonly CaptionDataRow[];
    };

export interface CaptionDataRow {
  readonly image: string;
  readonly split: string;
  readonly captions: readonly string[];
}

function invalid(where: string, message: string): BenchError {
  return new BenchError("INVALID_ARGUMENT", `${where}: ${message}`);
}

/** Every line of a caption data set, checked; errors name the file and line. */
export async function readCaptionData(path: string): Promise<CaptionDataRow[]> {
  try {
    await access(path);
  } catch (cause) {
    throw new BenchError("FILE_NOT_FOUND", `${path}: cannot read the caption data set`, { cause });
  }
  const rows: CaptionDataRow[] = [];
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  for await (const raw of lines) {
    number++;
    const line = number === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (line.trim() === "") continue;
    const where = `${path}:${number}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw invalid(where, `not JSON (${(cause as Error).message})`);
    }
    const row = value as Partial<CaptionDataRow>;
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw invalid(where, "expected an object with image, split and captions");
    if (typeof row.image !== "string" || row.image === "")
      throw invalid(where, `field "image" must be a path`);
    if (typeof row.split !== "string" || row.split === "")
      throw invalid(where, `field "split" must be a name such as "test"`);
    if (
      !Array.isArray(row.captions) ||
      row.captions.length === 0 ||
      !row.captions.every((c) => typeof c === "string" && c.trim() !== "")
    )
      throw invalid(where, `field "captions" must list at least one caption`);
    const image = isAbsolute(row.image) ? row.image : resolve(dirname(path), row.image);
    rows.push({ image, split: row.split, captions: row.captions });
  }
  if (rows.length === 0) throw invalid(path, "the caption data set has no lines");
  return rows;
}

/** The rows of one split, refused with the splits there are when it has none. */
export function splitRows(
  rows: readonly CaptionDataRow[],
  split: string,
  path: string,
): CaptionDataRow[] {
  const chosen = rows.filter((r) => r.split === split);
  if (chosen.length === 0) {
    const splits = [...new Set(rows.map((r) => r.split))].join(", ");
    throw invalid(path, `no images in split "${split}" (splits: ${splits})`);
  }
  return chosen;
}

export interface CaptionSplitOptions {
  /** The split to caption. Default "test". */
  readonly split?: string;
  /** Only the first `limit` images of the split. Default: all of them. */
  readonly limit?: number | undefined;
}

/**
 * One split of a caption data set (JSON Lines, see the file's head) as a caption set. Throws a
 * BenchError: FILE_NOT_FOUND, or INVALID_ARGUMENT naming the file and line of a bad row or the
 * splits there are when the split has no images.
 */
export async function loadCaptionSplit(
  path: string,
  options: CaptionSplitOptions = {},
): Promise<CaptionSet> {
  const split = options.split ?? "test";
  const rows = await readCaptionData(path);
  const chosen = splitRows(rows, split, path).slice(0, options.limit);
  const ids = chosen.map((r) => r.image);
  return {
    ids,
    files: ids,
    refs: Object.fromEntries(chosen.map((r) => [r.image, r.captions])),
    source: { kind: "data", data: path, split, images: chosen.length, rows },
    remove: async () => {},
  };
}
