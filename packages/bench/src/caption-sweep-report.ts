// A caption sweep as a report folder: the table (references first), its settings, and the plot
// of CIDEr-D against measured speed-up.
import { basename, relative } from "node:path";
import type { CaptionSetSource } from "./caption-data.js";
import { SWEEP_COLUMNS, type CaptionSweep, type SweepRow } from "./caption-sweep.js";
import type { TradeOffPoint } from "./plot.js";
import type { TableReport } from "./reports.js";
import { TJS_DEFAULT_THREADS, tjsThreadsLabel } from "./transformers-js.js";

export interface SweepReportOptions {
  /** Where the images came from (the caption set's `source`). */
  readonly source: CaptionSetSource;
  /** The passes per point the sweep was timed with. */
  readonly repeats: number;
  /** The caption bundle's folder (kept relative to the working directory). */
  readonly model: string;
  /** Whether fused full-depth graphs were timed (`captioner.fusedFullDepth`). */
  readonly fusedFullDepth: boolean;
  /** Whether the sweep has the transformers.js point. */
  readonly transformersJs: boolean;
  /** The command the Markdown's first line names. Default "beem caption-sweep". */
  readonly command?: string;
}

/** "200 held-out scenes of seed 1000", "125 images of the test split of captions.jsonl". */
export function describeCaptionSet(source: CaptionSetSource): string {
  return source.kind === "scenes"
    ? `${source.scenes} held-out scenes of seed ${source.seed}`
    : `${source.images} images of the ${source.split} split of ${basename(source.data)}`;
}

/** The sweep as `writeTableReport` writes it: caption-sweep.md, .csv, .json, .svg and .png. */
export function captionSweepReport(
  sweep: CaptionSweep,
  options: SweepReportOptions,
): TableReport<(typeof SWEEP_COLUMNS)[number]> {
  const { source, repeats } = options;
  const what = describeCaptionSet(source);
  const point = (r: SweepRow): TradeOffPoint => ({
    series: String(r.rule),
    speedup: r.measuredSpeedup as number,
    quality: r.ciderD as number,
    label: String(r.lambda),
  });
  return {
    name: "caption-sweep",
    caption:
      `Caption quality against measured speed-up: ${what}, ` +
      `each image captioned early and at full depth (fused graph) back to back, median of ${repeats} passes per point (\`${options.command ?? "beem caption-sweep"}\`).`,
    columns: SWEEP_COLUMNS,
    rows: [...sweep.references, ...sweep.rows],
    meta: {
      ...(source.kind === "scenes"
        ? { scenes: source.scenes, seed: source.seed }
        : {
            data: relative(process.cwd(), source.data),
            split: source.split,
            images: source.images,
          }),
      repeats,
      model: relative(process.cwd(), options.model) || ".",
      fullDepth: options.fusedFullDepth ? "fused" : "layer-by-layer",
      transformersJsThreads: options.transformersJs ? tjsThreadsLabel(TJS_DEFAULT_THREADS) : null,
    },
    plot: {
      title: `CIDEr-D against measured speed-up, ${what}`,
      xTitle: "measured speed-up over fused full depth (wall-clock)",
      yTitle: "CIDEr-D",
      curves: sweep.rows.map(point),
      references: sweep.references.map(point),
    },
  };
}
