// Caption data sets on disk: JSON Lines, one image per line, as the Flickr8k folder in
// ../shared/data/captions/flickr8k-1k keeps them:
//
//   {"image": "images/1000268201_693b08cb0e.jpg", "split": "test", "captions": ["A child ...", ...]}
//
// `image` is relative to the file's folder (or absolute), `split` any name (train, dev, test),
// `captions` the human references (at least one). caption-eval and caption-sweep caption one
// split of it; the nearest-neighbour baseline borrows captions from the train split.
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { createInterface } from "node:readline";
import { BeemError } from "@beem-ts/core";
import type { Scene } from "@beem-ts/scenes";

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
  remove(): Promise<void>;
}

export interface CaptionDataRow {
  readonly image: string;
  readonly split: string;
  readonly captions: readonly string[];
}

function invalid(where: string, message: string): BeemError {
  return new BeemError("INVALID_ARGUMENT", `${where}: ${message}`);
}

/** Every line of a caption data set, checked; errors name the file and line. */
export async function readCaptionData(path: string): Promise<CaptionDataRow[]> {
  try {
    await access(path);
  } catch (cause) {
    throw new BeemError("FILE_NOT_FOUND", `${path}: cannot read the caption data set`, { cause });
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

/** One split of a caption data set as a caption set (the first `limit` images of it). */
export function captionSetOf(rows: readonly CaptionDataRow[]): CaptionSet {
  const ids = rows.map((r) => r.image);
  return {
    ids,
    files: ids,
    refs: Object.fromEntries(rows.map((r) => [r.image, r.captions])),
    remove: async () => {},
  };
}
