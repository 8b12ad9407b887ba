import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { integerOption, numberList, oneOf, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";
import { REPO_ROOT } from "../models.js";
import { benchCaption } from "./bench-scale-caption.js";
import { checkPython, python } from "../python.js";
import { runTool } from "./bench-scale-sessions.js";
import { benchText } from "./bench-scale-text.js";

/** Shapes of random Hugging Face checkpoints (make_tiny.py's flags) the benchmark builds. */
const PRESETS = {
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
type Preset = keyof typeof PRESETS;

/** What a measurement is asked for, after the options are checked. */
export interface ScaleRun {
  readonly preset: Preset;
  readonly layers: number;
  /** Images (caption presets) or texts (text presets) per pass. */
  readonly items: number;
  readonly exitLayers: readonly number[];
  readonly shortlist: number;
  readonly batch: number;
  readonly repeats: number;
  readonly json: boolean;
  readonly log: (message: string) => void;
}

const usage = `Usage: beem bench-scale --preset ${Object.keys(PRESETS).join("|")} [--images N | --texts N] [--exit-layers 3,6,9] [--shortlist K] [--batch B] [--repeats 3] [--cache DIR] [--json]
  Timing only, on random weights: builds once, in a cache folder outside the repository, a
  random Hugging Face checkpoint of the preset's shape and converts it (pnpm convert:vit-gpt2 or
  pnpm convert:text, --no-distill: exit heads as initialised), then times, each speed-up paired
  with fused full depth and the median of --repeats passes:
  - captioning (vit-gpt2, small): per image the encoder, decoding at fused full depth, and
    decoding with every token forced to exit at each --exit-layers layer (a static policy: the
    decision code still runs); the shortlist head against the full head and a layer; batched
    decoding (--batch images at a time) at full depth and exiting at the middle exit layer;
  - text classification (bert-base, small-text): per text, fused full depth against every text
    forced to exit at each --exit-layers layer, then batches of --batch texts;
  - both: what running each layer in its own session costs: the layer graphs up to the middle
    exit layer in their own sessions, in turn, against the same graphs composed into one graph
    (written into the cached bundle by training/common/compose_layers.py), beside fused full depth.
  Counted speed-ups divide multiply-adds (layers and exit heads).
  --preset P        ${Object.keys(PRESETS).join(", ")}
  --images N        images per pass, caption presets (default: the preset's, 8 for vit-gpt2)
  --texts N         texts per pass, text presets (default: the preset's, 64 for bert-base)
  --exit-layers L,. layers to force exits at, each in 1..L-1 (default: the preset's)
  --shortlist K     tokens of the caption exit heads (default 2048 for vit-gpt2)
  --batch B         images or texts per batch for the throughput figure (default: the preset's)
  --repeats R       passes (default 3)
  --cache DIR       where the checkpoint and the bundle are kept (default ~/.cache/beem/bench-scale)
  --json            one JSON object`;

/** The preset's converted bundle in the cache, built on first use. */
function ensureBundle(cache: string, preset: Preset, shortlist: number, log: (m: string) => void) {
  const p = PRESETS[preset];
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

export const benchScaleCommand: Command = {
  name: "bench-scale",
  summary:
    "early exit on real-sized models (vit-gpt2, BERT-base) with random weights (timing only)",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        preset: { type: "string" },
        images: { type: "string" },
        texts: { type: "string" },
        "exit-layers": { type: "string" },
        shortlist: { type: "string" },
        batch: { type: "string" },
        repeats: { type: "string" },
        cache: { type: "string" },
        json: { type: "boolean" },
      },
      usage,
    );
    if (values.preset === undefined) throw new UsageError(`Give --preset\n${usage}`);
    const preset = oneOf(values.preset, "--preset", Object.keys(PRESETS) as Preset[]);
    const p = PRESETS[preset];
    const [itemFlag, wrongFlag] =
      p.task === "caption" ? (["images", "texts"] as const) : (["texts", "images"] as const);
    if (values[wrongFlag] !== undefined)
      throw new UsageError(
        `--${wrongFlag} is for the other presets; --preset ${preset} takes --${itemFlag}`,
      );
    if (p.task === "text" && values.shortlist !== undefined)
      throw new UsageError(`--shortlist is for the caption presets; --preset ${preset} has none`);
    const items = integerOption(values[itemFlag], `--${itemFlag}`, p.items, 1);
    const shortlist =
      p.task === "caption" ? integerOption(values.shortlist, "--shortlist", p.shortlist, 2) : 0;
    const batch = integerOption(values.batch, "--batch", p.batch, 1);
    const repeats = integerOption(values.repeats, "--repeats", 3, 1);
    const cache = resolve(
      values.cache ??
        join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "beem", "bench-scale"),
    );
    try {
      mkdirSync(cache, { recursive: true });
      accessSync(cache, constants.W_OK);
    } catch (cause) {
      throw new UsageError(`--cache ${cache}: cannot write there (${(cause as Error).message})`);
    }
    const L: number = p.layers;
    const exitLayers = numberList(values["exit-layers"], "--exit-layers") ?? [...p.exitLayers];
    for (const k of exitLayers)
      if (!Number.isInteger(k) || k < 1 || k >= L)
        throw new UsageError(
          `Expected --exit-layers to hold layers from 1 to ${L - 1} but received ${k}`,
        );
    // Building the bundle and composing its layers run Python scripts (PyTorch, onnx).
    checkPython();
    const log = (m: string) => io.stderr(`${m}\n`);
    const bundle = ensureBundle(cache, preset, shortlist, log);
    const run: ScaleRun = {
      preset,
      layers: L,
      items,
      exitLayers,
      shortlist,
      batch,
      repeats,
      json: values.json === true,
      log,
    };
    await (p.task === "caption" ? benchCaption(bundle, run, io) : benchText(bundle, run, io));
  },
};
