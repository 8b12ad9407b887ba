// A captioner on one caption set: early exit against full depth (fused, and layer by layer) in
// quality and measured speed-up, where tokens exit, and optionally transformers.js on the same
// weights, batching, beam search and (on a caption data set) the baselines.
import { relative } from "node:path";
import {
  DEFAULT_SKIPPED_LAYER_FILL,
  scoreCaptions,
  type CaptionOptions,
  type CaptionResult,
  type Captioner,
  type SkippedLayerFill,
} from "@beem-ts/caption";
import { median, type PolicyChoice } from "@beem-ts/core";
import { measureBaselines } from "./caption-baselines.js";
import {
  exitLayerByDifficulty,
  exitLayerByNaming,
  exitLayerByObjects,
  exitLayerByPhotoWordClass,
  exitLayerByWordClass,
} from "./caption-breakdowns.js";
import type { CaptionSet } from "./caption-data.js";
import { candidates, timeWays, tokenStats } from "./caption-runs.js";
import { measureBatching, measureBeams, measureTransformersJs } from "./caption-eval-extras.js";
import { pairedSpeedup } from "./timing.js";

export interface CaptionEvalOptions {
  /** The early-exit policy, as `captioner.policyFor` takes it. Default {}: the bundle's own. */
  readonly policy?: PolicyChoice;
  /** How skipped layers get their keys/values. Default "deferred". */
  readonly fill?: SkippedLayerFill;
  /** Timed passes; each speed-up is the median of the passes' ratios. Default 3. */
  readonly repeats?: number;
  /** Also time early exit on batches of this many images against one at a time. Default: not. */
  readonly batch?: number | undefined;
  /** Also caption with beam search of this width, early and at full depth. Default: not. */
  readonly beams?: number | undefined;
  /**
   * Also time transformers.js' image-to-text pipeline on this export of the same weights
   * (`transformersJsExport`), with `threads` intra-op threads (default: its own). Default: not.
   */
  readonly transformersJs?:
    { readonly dir: string; readonly threads?: number | undefined } | undefined;
  /** The nearest-neighbour baseline's k (data sets only). Default: the best on the dev split. */
  readonly nnK?: number | undefined;
  /** Called after every timed pass with the passes done and to do. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Captions every image of `set` early, at full depth in the fused graph (the baseline) and at
 * full depth layer by layer, side by side (`timeWays`), and returns plain figures: CIDEr-D,
 * BLEU-4 and ROUGE-L each way, mean exit layer, counted and measured speed-ups, exit layers by
 * difficulty and word class (and, for scenes, by objects and naming). With a caption data set
 * (`loadCaptionSplit`), also the baselines (`measureBaselines`). `data` in the result is the data
 * set's path relative to the working directory.
 */
export async function evaluateCaptions(
  captioner: Captioner,
  set: CaptionSet,
  options: CaptionEvalOptions = {},
) {
  const policy = await captioner.policyFor(options.policy ?? {});
  const fill = options.fill ?? DEFAULT_SKIPPED_LAYER_FILL;
  const repeats = options.repeats ?? 3;
  const { batch, beams, transformersJs: tjsOptions, nnK } = options;
  const passes = 1 + [tjsOptions, batch, beams].filter((x) => x !== undefined).length;
  let done = 0;
  const tick = () => options.onProgress?.(++done, passes * repeats);
  const early: CaptionOptions = { policy, fill };
  const full: CaptionOptions = { full: true };
  const ways = await timeWays(
    captioner,
    set.files,
    { early, full, layerByLayer: { full: true, layerByLayer: true } },
    { repeats, onRepeat: tick },
  );
  const score = (results: readonly (CaptionResult | string)[]) =>
    scoreCaptions({
      refs: set.refs,
      cands: candidates(
        set,
        results.map((r) => (typeof r === "string" ? r : r.text)),
      ),
    });
  const fullScores = score(ways.full.results);
  const earlyScores = score(ways.early.results);
  const { meanExitLayer, tokenAgreement } = tokenStats(ways.early.results, ways.full.results);
  const L = captioner.numExits;
  const tjs =
    tjsOptions &&
    (await measureTransformersJs(captioner, set, { early, full, ...tjsOptions, repeats, tick }));
  const batched =
    batch === undefined
      ? undefined
      : await measureBatching(captioner, set.files, { early, size: batch, repeats, tick });
  const beamed =
    beams === undefined
      ? undefined
      : await measureBeams(captioner, set, {
          early,
          width: beams,
          repeats,
          tick,
          greedy: { full: fullScores.ciderD, early: earlyScores.ciderD },
        });
  const source = set.source;
  const baselines =
    source.kind === "data"
      ? await measureBaselines(captioner, {
          rows: source.rows,
          ids: set.ids,
          refs: set.refs,
          full: ways.full.results,
          early: ways.early.results,
          k: nnK,
        })
      : undefined;
  const scenes = set.scenes;
  return {
    ...(source.kind === "scenes"
      ? { scenes: source.scenes, seed: source.seed }
      : { data: relative(process.cwd(), source.data), split: source.split, images: source.images }),
    rule: policy.rule,
    lambda: policy.lambda ?? null,
    fill,
    ciderFull: fullScores.ciderD,
    cider: earlyScores.ciderD,
    bleu4Full: fullScores.bleu4,
    bleu4: earlyScores.bleu4,
    rougeLFull: fullScores.rougeL,
    rougeL: earlyScores.rougeL,
    meanExitLayer,
    countedSpeedup: L / meanExitLayer,
    fullDepth: captioner.fusedFullDepth ? "fused" : "layer-by-layer",
    measuredSpeedup: pairedSpeedup(ways.early.ms, ways.full.ms),
    layerByLayerSpeedup: pairedSpeedup(ways.early.ms, ways.layerByLayer.ms),
    fusedOverLayerByLayer: pairedSpeedup(ways.full.ms, ways.layerByLayer.ms),
    decoderSpeedup: pairedSpeedup(ways.early.decodeMs, ways.full.decodeMs),
    fixedMsPerImage: median(ways.early.fixedMs) / set.files.length,
    tokenAgreement,
    ...(scenes && {
      meanExitLayerByObjects: exitLayerByObjects(scenes, ways.early.results),
    }),
    meanExitLayerByDifficulty: exitLayerByDifficulty(
      set.ids.map((id) => set.refs[id]!),
      ways.full.results,
      ways.early.results,
    ),
    meanExitLayerByWordClass: scenes
      ? exitLayerByWordClass(ways.early.results)
      : exitLayerByPhotoWordClass(ways.early.results),
    ...(scenes && {
      meanExitLayerByNaming: exitLayerByNaming(scenes, ways.early.results),
    }),
    fullMs: median(ways.full.ms),
    layerByLayerMs: median(ways.layerByLayer.ms),
    earlyMs: median(ways.early.ms),
    repeats,
    ...tjs,
    ...(batched && { batch: batched }),
    ...(beamed && { beams: beamed }),
    ...baselines,
  };
}

/** What `evaluateCaptions` returns. */
export type CaptionEvalReport = Awaited<ReturnType<typeof evaluateCaptions>>;
