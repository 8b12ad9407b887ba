// The scale benchmark: early exit on a real-sized model (random weights, timing only) against
// fused full depth, for a caption or a text preset.
import { benchScaleCaption, scaleCaptionSummary, type ScaleCaptionReport } from "./caption.js";
import { SCALE_PRESETS, ensureScaleBundle, type ScalePreset } from "./presets.js";
import { checkPython } from "../tools.js";
import { benchScaleText, scaleTextSummary, type ScaleTextReport } from "./text.js";

export interface ScaleOptions {
  /** The model's shape (SCALE_PRESETS). */
  readonly preset: ScalePreset;
  /** Where the checkpoint and the converted bundle are kept (built on first use). */
  readonly cache: string;
  /** Images (caption presets) or texts (text presets) per pass. Default: the preset's. */
  readonly items?: number;
  /** Layers to force exits at, each in 1..layers-1. Default: the preset's. */
  readonly exitLayers?: readonly number[];
  /** Tokens of the caption exit heads (caption presets). Default: the preset's. */
  readonly shortlist?: number;
  /** Images or texts per batch for the throughput figure. Default: the preset's. */
  readonly batch?: number;
  /** Timed passes. Default 3. */
  readonly repeats?: number;
  /** Progress lines (what is being built or timed). Default: none. */
  readonly log?: (message: string) => void;
}

/** A scale benchmark's figures, by the preset's task. */
export type ScaleResult =
  | { readonly task: "caption"; readonly report: ScaleCaptionReport }
  | { readonly task: "text"; readonly report: ScaleTextReport };

/**
 * Builds the preset's bundle if the cache lacks it (`ensureScaleBundle`; Python with PyTorch and
 * onnx, else PREREQUISITE_MISSING), then times it: per item and in batches, fused full depth
 * against exits forced at each exit layer, beside counted multiply-adds, and what the layers'
 * own sessions cost.
 */
export async function benchScale(options: ScaleOptions): Promise<ScaleResult> {
  const p = SCALE_PRESETS[options.preset];
  const log = options.log ?? (() => {});
  checkPython(); // building the bundle and composing its layers run Python scripts
  const shortlist = p.task === "caption" ? (options.shortlist ?? p.shortlist) : 0;
  const bundle = ensureScaleBundle(options.cache, options.preset, shortlist, log);
  const run = {
    preset: options.preset,
    layers: p.layers,
    items: options.items ?? p.items,
    exitLayers: options.exitLayers ?? [...p.exitLayers],
    shortlist,
    batch: options.batch ?? p.batch,
    repeats: options.repeats ?? 3,
    log,
  };
  return p.task === "caption"
    ? { task: "caption", report: await benchScaleCaption(bundle, run) }
    : { task: "text", report: await benchScaleText(bundle, run) };
}

/** The figures as text for people: a table of exit layers and summary lines. */
export function scaleSummary(result: ScaleResult): string {
  return result.task === "caption"
    ? scaleCaptionSummary(result.report)
    : scaleTextSummary(result.report);
}
