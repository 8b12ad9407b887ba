// The images caption-eval and caption-sweep run on: held-out synthetic scenes (--scenes, --seed)
// or one split of a caption data set (--data, --split, --limit); and their transformers.js export.
import { resolve } from "node:path";
import {
  BenchError,
  isTransformersJsExport,
  loadCaptionSplit,
  optionalTransformersJsExport,
  writeScenes,
  type BenchErrorCode,
  type CaptionSet,
} from "@beem-ts/bench";
import { options, type OptionValues, integerOption } from "./args.js";
import { UsageError } from "./cli-error.js";

export const CAPTION_SET_OPTIONS = options("scenes seed data split limit");

export function captionSetUsage(): string {
  return `  --data FILE     a caption data set, JSON Lines of {"image", "split", "captions"} (images
                  relative to the file), e.g. Flickr8k's in
                  ../shared/data/captions/flickr8k-1k/captions.jsonl
  --scenes N      or N held-out synthetic scenes (what models/caption-beem knows)
  --seed S        their seed (default 1000; 1-3 are the scene model's training data)
  --split NAME    the split of --data to caption (default test)
  --limit N       only the first N images of the split`;
}

/** Runs `work`, a bench error with one of `codes` becoming a usage error (exit status 2). */
export async function usageOn<T>(codes: readonly BenchErrorCode[], work: () => Promise<T>) {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BenchError && codes.includes(error.code))
      throw new UsageError(error.message);
    throw error;
  }
}

/** The images the flags name: --data's split, or --scenes generated scenes (one is required). */
export async function openCaptionSet(
  values: OptionValues<typeof CAPTION_SET_OPTIONS>,
): Promise<CaptionSet> {
  if (values.data === undefined && values.scenes === undefined)
    throw new UsageError(
      "Give --data FILE (a caption data set such as ../shared/data/captions/flickr8k-1k/captions.jsonl, " +
        "for the photo captioner) or --scenes N (synthetic scenes, for models/caption-beem)",
    );
  if (values.data === undefined) {
    for (const flag of ["split", "limit"] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --data`);
    const count = integerOption(values.scenes, "--scenes", 1, 1);
    const seed = integerOption(values.seed, "--seed", 1000, 0);
    return usageOn(["RESERVED_SEED"], () => writeScenes({ count, seed }));
  }
  for (const flag of ["scenes", "seed"] as const)
    if (values[flag] !== undefined)
      throw new UsageError(`Give either --data or --${flag} (synthetic scenes), not both`);
  const limit =
    values.limit === undefined ? undefined : integerOption(values.limit, "--limit", 1, 1);
  return loadCaptionSplit(resolve(values.data), { split: values.split ?? "test", limit });
}

/**
 * The transformers.js export to time: none with --no-tjs, `--tjs DIR` as given, else the bundle's
 * export from the cache (made if needed), or undefined with the reason on `note` when it cannot be made.
 */
export async function tjsDirFor(
  modelDir: string,
  values: { readonly tjs?: string | undefined; readonly "no-tjs"?: boolean | undefined },
  note: (message: string) => void,
): Promise<string | undefined> {
  if (values["no-tjs"] === true) return undefined;
  if (values.tjs !== undefined) {
    if (!isTransformersJsExport(resolve(values.tjs)))
      throw new UsageError(`--tjs ${resolve(values.tjs)}: no onnx/decoder_model_merged.onnx there`);
    return resolve(values.tjs);
  }
  return optionalTransformersJsExport(modelDir, {
    onUnavailable: (reason) => note(`transformers.js comparison left out: ${reason}\n`),
  });
}
