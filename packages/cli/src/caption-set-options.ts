// The images caption-eval and caption-sweep run on: held-out synthetic scenes (--scenes, --seed)
// or one split of a caption data set (--data, --split, --limit).
import { resolve } from "node:path";
import { integerOption } from "./args.js";
import {
  captionSetOf,
  readCaptionData,
  splitRows,
  type CaptionDataRow,
  type CaptionSet,
} from "./caption-data.js";
import { writeScenes } from "./caption-runs.js";
import { UsageError } from "./cli-error.js";

export const CAPTION_SET_OPTIONS = {
  scenes: { type: "string" },
  seed: { type: "string" },
  data: { type: "string" },
  split: { type: "string" },
  limit: { type: "string" },
} as const;

export function captionSetUsage(): string {
  return `  --data FILE     a caption data set, JSON Lines of {"image", "split", "captions"} (images
                  relative to the file), e.g. Flickr8k's in
                  ../shared/data/captions/flickr8k-1k/captions.jsonl
  --scenes N      or N held-out synthetic scenes (what models/caption-beem knows)
  --seed S        their seed (default 1000; 1-3 are the scene model's training data)
  --split NAME    the split of --data to caption (default test)
  --limit N       only the first N images of the split`;
}

/** Where the images came from, for reports. */
export type CaptionSetSource =
  | { readonly kind: "scenes"; readonly scenes: number; readonly seed: number }
  | {
      readonly kind: "data";
      readonly data: string;
      readonly split: string;
      readonly images: number;
      /** Every row of the data set (baselines borrow from its train split). */
      readonly rows: readonly CaptionDataRow[];
    };

/** The images the flags name: --data's split, or --scenes generated scenes (one is required). */
export async function openCaptionSet(values: {
  scenes?: string | undefined;
  seed?: string | undefined;
  data?: string | undefined;
  split?: string | undefined;
  limit?: string | undefined;
}): Promise<{ set: CaptionSet; source: CaptionSetSource }> {
  if (values.data === undefined && values.scenes === undefined)
    throw new UsageError(
      "Give --data FILE (a caption data set such as ../shared/data/captions/flickr8k-1k/captions.jsonl, " +
        "for the photo captioner) or --scenes N (synthetic scenes, for models/caption-beem)",
    );
  if (values.data === undefined) {
    for (const flag of ["split", "limit"] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --data`);
    const scenes = integerOption(values.scenes, "--scenes", 1, 1);
    const seed = integerOption(values.seed, "--seed", 1000, 0);
    return { set: await writeScenes(seed, scenes), source: { kind: "scenes", scenes, seed } };
  }
  for (const flag of ["scenes", "seed"] as const)
    if (values[flag] !== undefined)
      throw new UsageError(`Give either --data or --${flag} (synthetic scenes), not both`);
  const data = resolve(values.data);
  const split = values.split ?? "test";
  const limit =
    values.limit === undefined ? undefined : integerOption(values.limit, "--limit", 1, 1);
  const rows = await readCaptionData(data);
  const chosen = splitRows(rows, split, data).slice(0, limit);
  return {
    set: captionSetOf(chosen),
    source: { kind: "data", data, split, images: chosen.length, rows },
  };
}
