// bench-scale's presets: random Hugging Face checkpoints of real models' shapes, built and
// converted once into a cache folder.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, python, runTool } from "../tools.js";

/** Shapes of random Hugging Face checkpoints (make_tiny.py's flags) the benchmark builds. */
export const SCALE_PRESETS = {
  /** vit-gpt2-image-captioning's shape: ViT-base 224/16, 12 GPT-2 layers of 768, 50,257 tokens. */
  "vit-gpt2": {
    task: "caption",
    make: "--layers 12 --heads 12 --width 768 --positions 1024 --image 224 --patch 16 --encoder-layers 12 --encoder-width 768 --encoder-heads 12 --vocab-size 50257 --max-length 16",
    layers: 12,
    shortlist: 2048,
    exitLayers: [3, 6, 9],
    items: 8,
    batch: 8,
  },
  /** A small captioner for the tests (seconds). */
  small: {
    task: "caption",
    make: "--layers 4 --heads 4 --width 64 --positions 64 --image 32 --patch 8 --encoder-layers 2 --encoder-width 64 --vocab-size 4096 --max-length 16",
    layers: 4,
    shortlist: 256,
    exitLayers: [1, 2, 3],
    items: 4,
    batch: 4,
  },
  /** BERT-base's shape: 12 layers of 768, 12 heads, 3,072-wide feed-forward, 30,522 tokens. */
  "bert-base": {
    task: "text",
    make: "--kind bert --layers 12 --hidden 768 --heads 12 --ffn 3072 --positions 512 --vocab-size 30522",
    layers: 12,
    shortlist: 0,
    exitLayers: [3, 6, 9],
    items: 64,
    batch: 32,
  },
  /** A small text classifier for the tests (seconds). */
  "small-text": {
    task: "text",
    make: "--kind bert --layers 4 --hidden 64 --heads 4 --ffn 128 --positions 64",
    layers: 4,
    shortlist: 0,
    exitLayers: [1, 2, 3],
    items: 16,
    batch: 8,
  },
} as const;
export type ScalePreset = keyof typeof SCALE_PRESETS;

/** What a measurement is asked for, after the options are checked. */
export interface ScaleRun {
  readonly preset: ScalePreset;
  readonly layers: number;
  /** Images (caption presets) or texts (text presets) per pass. */
  readonly items: number;
  readonly exitLayers: readonly number[];
  readonly shortlist: number;
  readonly batch: number;
  readonly repeats: number;
  readonly log: (message: string) => void;
}

/**
 * The preset's converted bundle in `cache`, built on first use: a random checkpoint of its shape
 * (make_tiny.py of training/vit_gpt2 or training/hf_text) converted without distillation (convert.sh --no-distill). Needs
 * Python with PyTorch and onnx; a failing tool is a BenchError TOOL_FAILED.
 */
export function ensureScaleBundle(
  cache: string,
  preset: ScalePreset,
  shortlist: number,
  log: (m: string) => void,
): string {
  const p = SCALE_PRESETS[preset];
  const scripts = join(REPO_ROOT, "training", p.task === "caption" ? "vit_gpt2" : "hf_text");
  const hf = join(cache, preset, "hf");
  const bundle = join(cache, preset, p.task === "caption" ? `bundle-k${shortlist}` : "bundle");
  if (existsSync(join(bundle, "manifest.json"))) return bundle;
  if (!existsSync(join(hf, "config.json")))
    runTool(
      `writing a random ${preset} checkpoint to ${hf}`,
      [
        python(),
        join(scripts, "make_tiny.py"),
        "--out",
        hf,
        "--scale",
        "0.02",
        ...p.make.split(" "),
      ],
      log,
    );
  const convert = [
    "bash",
    join(scripts, "convert.sh"),
    "--hf",
    hf,
    "--out",
    bundle,
    "--no-distill",
  ];
  if (p.task === "caption") convert.push("--head-graphs", "--shortlist", String(shortlist));
  runTool(`converting it to ${bundle}`, convert, log);
  return bundle;
}
