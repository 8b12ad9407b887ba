// Captioning a collection on one machine, a group at a time: the next group's images are decoded
// (sharp, off the main thread) while the current group goes through the model; each image's
// line goes to a results file as it is done.
import { BeemError } from "@beem-ts/core";
import type {
  BatchCaption,
  CaptionOptions,
  CaptionResult,
  CaptionToken,
  Captioner,
  PreparedImage,
} from "@beem-ts/caption";
import { errorRecord, resultRecord, type ResultsFile } from "./results-file.js";

/** One image's outcome: its caption, or why it could not be captioned. */
export type ImageOutcome = { readonly image: string } & (
  | { readonly ok: true; readonly result: CaptionResult }
  | { readonly ok: false; readonly error: BeemError }
);

export interface CaptionGroupsOptions {
  /** Images captioned at a time, as one batch. Default 1. */
  readonly batch?: number;
  /** The exit policy and decoding, as `Captioner.caption` takes them. Default `{}`. */
  readonly caption?: CaptionOptions;
}

type Prepared = { ok: true; image: PreparedImage } | { ok: false; error: BeemError };

/**
 * Captions `images` in groups of `batch`, yielding each group's outcomes in order. An image that
 * cannot be read (a BeemError: missing, not an image, too large) is an outcome with its error and
 * the others go on; any other error is thrown. Stopping early (`break`) stops after the group in
 * hand.
 */
export async function* captionGroups(
  captioner: Captioner,
  images: readonly string[],
  options: CaptionGroupsOptions = {},
): AsyncGenerator<ImageOutcome[]> {
  const { batch = 1, caption = {} } = options;
  const prepare = (group: readonly string[]): Promise<Prepared[]> =>
    Promise.all(
      group.map((file) =>
        captioner.prepare(file).then(
          (image): Prepared => ({ ok: true, image }),
          (error: unknown): Prepared => {
            if (error instanceof BeemError) return { ok: false, error };
            throw error;
          },
        ),
      ),
    );
  let upcoming: Promise<Prepared[]> | undefined;
  for (let start = 0; start < images.length; start += batch) {
    const group = images.slice(start, start + batch);
    const prepared = await (upcoming ?? prepare(group));
    const following = images.slice(start + batch, start + 2 * batch);
    upcoming = following.length > 0 ? prepare(following) : undefined;
    upcoming?.catch(() => undefined); // awaited (and thrown) on the next round
    const ready = prepared.flatMap((p) => (p.ok ? [p.image] : []));
    const captions: BatchCaption[] =
      ready.length === 0
        ? []
        : ready.length === 1
          ? [{ ok: true, result: await captioner.caption(ready[0]!, caption) }]
          : await captioner.captionBatch(ready, caption);
    let next = 0;
    yield prepared.map((p, i): ImageOutcome => {
      const outcome = p.ok ? captions[next++]! : p;
      return outcome.ok
        ? { image: group[i]!, ok: true, result: outcome.result }
        : { image: group[i]!, ok: false, error: outcome.error };
    });
  }
}

export interface CaptionCollectionOptions extends CaptionGroupsOptions {
  /** Where each image's line goes as it is done (its result or its error). Default: nowhere. */
  readonly results?: ResultsFile;
  /** Told each image's caption. Default: none. */
  readonly onResult?: (image: string, result: CaptionResult) => void;
  /** Told each image that could not be captioned (its error line is written too). Default: none. */
  readonly onError?: (image: string, error: BeemError) => void;
  /**
   * Told each token as it is decided: images are then captioned one at a time (no batches), each
   * announced first to `onStart`. Default: none (captioned in batches).
   */
  readonly onToken?: (image: string, token: CaptionToken) => void;
  /** With `onToken`: told of each image before its first token. Default: none. */
  readonly onStart?: (image: string) => void;
  /** Told after each group: images done (captioned or failed) so far, of how many. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Asked before each group; true stops the run there (the group in hand is finished). */
  readonly shouldStop?: () => boolean;
}

/** How a collection run ended. */
export interface CollectionRun {
  /** Images done: captioned or failed. */
  readonly done: number;
  /** The images that could not be captioned, in order. */
  readonly failed: readonly string[];
  /** Whether `shouldStop` ended the run before every image was done. */
  readonly stopped: boolean;
}

/**
 * Captions `images` into `results` (and the callbacks): an image that cannot be read is told to
 * `onError` and written as an error line, and the others go on; any other error is thrown. The
 * policy is fitted first, so that a policy that cannot be fitted fails before any image.
 */
export async function captionCollection(
  captioner: Captioner,
  images: readonly string[],
  options: CaptionCollectionOptions = {},
): Promise<CollectionRun> {
  const { results, caption = {}, onToken } = options;
  const policy = await captioner.policyFor(caption);
  const model = captioner.model.manifest.id;
  let done = 0;
  const failed: string[] = [];
  const stop = () => options.shouldStop?.() === true;
  const told = (outcome: ImageOutcome) => {
    if (outcome.ok) {
      results?.write(resultRecord(outcome.image, outcome.result, model, policy));
      options.onResult?.(outcome.image, outcome.result);
    } else {
      failed.push(outcome.image);
      options.onError?.(outcome.image, outcome.error);
      results?.write(errorRecord(outcome.image, outcome.error));
    }
  };
  if (onToken !== undefined)
    for (const image of images) {
      if (stop()) break;
      told(await streamed(captioner, image, caption, options));
      options.onProgress?.(++done, images.length);
    }
  else if (!stop())
    for await (const outcomes of captionGroups(captioner, images, options)) {
      outcomes.forEach(told);
      done += outcomes.length;
      options.onProgress?.(done, images.length);
      if (stop()) break; // before the next group
    }
  return { done, failed, stopped: done < images.length };
}

/** One image captioned token by token, each told to `onToken` as it is decided. */
async function streamed(
  captioner: Captioner,
  image: string,
  caption: CaptionOptions,
  options: CaptionCollectionOptions,
): Promise<ImageOutcome> {
  try {
    options.onStart?.(image);
    const tokens = captioner.stream(image, caption);
    let next = await tokens.next();
    for (; next.done !== true; next = await tokens.next()) options.onToken?.(image, next.value);
    return { image, ok: true, result: next.value };
  } catch (error) {
    if (!(error instanceof BeemError)) throw error;
    return { image, ok: false, error };
  }
}
