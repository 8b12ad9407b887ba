// A text classifier on labelled texts: accuracy and measured speed-up of early exit against full
// depth in the fused graph and layer by layer, all timed side by side.
import { meanExitLayer, median, type PolicyChoice } from "@beem-ts/core";
import type { Classification, ClassifyOptions, LabelledText, TextClassifier } from "@beem-ts/text";
import { textTable } from "./tables.js";
import { pairedSpeedup, timeSideBySide } from "./timing.js";

export interface ClassifierEvalOptions {
  /** The early-exit policy, as `classifier.policyFor` takes it. Default {}: the bundle's own. */
  readonly policy?: PolicyChoice;
  /** Also time batches of this many texts (rows leave the batch as they exit). Default: not. */
  readonly batch?: number | undefined;
  /** Timed passes of each way. Default 3. */
  readonly repeats?: number;
  /** Called after every timed pass with the passes done and to do. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Classifies `data` early, at fused full depth and at full depth layer by layer, each pass every
 * way once over all the texts (order rotated, tokenisation included), and returns accuracy,
 * exit counts, counted and measured speed-ups (median of the passes' ratios), and with `batch`
 * the same in batches as throughput.
 */
export async function evaluateClassifier(
  classifier: TextClassifier,
  data: readonly LabelledText[],
  options: ClassifierEvalOptions = {},
) {
  const { batch } = options;
  const repeats = options.repeats ?? 3;
  const texts = data.map((d) => d.text);
  const policy = await classifier.policyFor(options.policy ?? {});
  const steps = (batch === undefined ? 1 : 2) * repeats;
  let done = 0;
  /** Every way over all the texts, side by side (a warm-up run of each first). */
  const compare = async (batchSize: number) => {
    const ways = {
      early: { policy, batchSize },
      full: { full: true, batchSize },
      layerByLayer: { full: true, layerByLayer: true, batchSize },
    } satisfies Record<string, ClassifyOptions>;
    const results = {} as Record<keyof typeof ways, Classification[]>;
    const way = (name: keyof typeof ways) => async (all: readonly string[]) =>
      (results[name] = await classifier.classify(all, ways[name]));
    const ms = await timeSideBySide(
      [texts],
      { early: way("early"), full: way("full"), layerByLayer: way("layerByLayer") },
      { repeats, warmUp: true, onRepeat: () => options.onProgress?.(++done, steps) },
    );
    return {
      ...results,
      earlyMs: median(ms.early),
      fullMs: median(ms.full),
      layerByLayerMs: median(ms.layerByLayer),
      speedup: pairedSpeedup(ms.early, ms.full),
      layerByLayerSpeedup: pairedSpeedup(ms.early, ms.layerByLayer),
      fusedOverLayerByLayer: pairedSpeedup(ms.full, ms.layerByLayer),
    };
  };
  const single = await compare(1);
  const batched = batch === undefined ? undefined : await compare(batch);
  const correct = (rs: readonly { labelId: number }[]) =>
    rs.filter((r, i) => r.labelId === data[i]!.label).length / data.length;
  const L = classifier.numExits;
  const meanExit = meanExitLayer(single.early.map((r) => r.exitLayer));
  const exitCounts = new Array<number>(L).fill(0);
  single.early.forEach((r) => exitCounts[r.exitLayer - 1]!++);
  return {
    samples: data.length,
    rule: policy.rule,
    lambda: policy.lambda ?? null,
    accuracy: correct(single.early),
    fullAccuracy: correct(single.full),
    meanExitLayer: meanExit,
    countedSpeedup: L / meanExit,
    fullDepth: classifier.fusedFullDepth ? "fused" : "layer-by-layer",
    measuredSpeedup: single.speedup,
    layerByLayerSpeedup: single.layerByLayerSpeedup,
    fusedOverLayerByLayer: single.fusedOverLayerByLayer,
    fullMs: single.fullMs,
    layerByLayerMs: single.layerByLayerMs,
    earlyMs: single.earlyMs,
    fullAgreesWithLayerByLayer: single.full.every(
      (r, i) => r.labelId === single.layerByLayer[i]!.labelId,
    ),
    exitCounts,
    truncated: single.early.filter((r) => r.truncated).length,
    repeats,
    ...(batched && {
      batch,
      batchedAccuracy: correct(batched.early),
      throughputSpeedup: batched.speedup,
      layerByLayerThroughputSpeedup: batched.layerByLayerSpeedup,
      fusedOverLayerByLayerBatched: batched.fusedOverLayerByLayer,
      fullTextsPerSecond: (1000 * data.length) / batched.fullMs,
      layerByLayerTextsPerSecond: (1000 * data.length) / batched.layerByLayerMs,
      earlyTextsPerSecond: (1000 * data.length) / batched.earlyMs,
    }),
  };
}

/** What `evaluateClassifier` returns. */
export type ClassifierEvalReport = Awaited<ReturnType<typeof evaluateClassifier>>;

/** The report as an aligned table and a line of times (and one of batches). */
export function classifierEvalSummary(report: ClassifierEvalReport): string {
  return (
    textTable(
      [
        "samples",
        "accuracy",
        "full accuracy",
        "mean exit",
        "counted speed-up",
        `measured speed-up (vs ${report.fullDepth} full depth)`,
        "vs layer by layer",
      ],
      [
        [
          report.samples,
          report.accuracy,
          report.fullAccuracy,
          report.meanExitLayer,
          report.countedSpeedup,
          report.measuredSpeedup,
          report.layerByLayerSpeedup,
        ],
      ],
    ) +
    `full ${report.fullMs.toFixed(0)} ms (layer by layer ${report.layerByLayerMs.toFixed(0)} ms), early exit ${report.earlyMs.toFixed(0)} ms (medians of ${report.repeats}); exits: ${report.exitCounts.join(" ")}\n` +
    (report.batch !== undefined
      ? `batch ${report.batch}: throughput speed-up ${report.throughputSpeedup!.toFixed(2)}x (${report.layerByLayerThroughputSpeedup!.toFixed(2)}x against layer by layer)\n`
      : "")
  );
}
