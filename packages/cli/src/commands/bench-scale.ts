import { accessSync, constants, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import {
  SCALE_PRESETS,
  beemCacheDir,
  benchScale,
  scaleSummary,
  type ScalePreset,
} from "@beem-ts/bench";
import { options, integerOption, numberList, oneOf, parse } from "../args.js";
import { usageOn } from "../caption-set-options.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";

const usage = `Usage: beem bench-scale --preset ${Object.keys(SCALE_PRESETS).join("|")} [--images N | --texts N] [--exit-layers 3,6,9] [--shortlist K] [--batch B] [--repeats 3] [--cache DIR] [--json]
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
  --preset P        ${Object.keys(SCALE_PRESETS).join(", ")}
  --images N        images per pass, caption presets (default: the preset's, 8 for vit-gpt2)
  --texts N         texts per pass, text presets (default: the preset's, 64 for bert-base)
  --exit-layers L,. layers to force exits at, each in 1..L-1 (default: the preset's)
  --shortlist K     tokens of the caption exit heads (default 2048 for vit-gpt2)
  --batch B         images or texts per batch for the throughput figure (default: the preset's)
  --repeats R       passes (default 3)
  --cache DIR       where the checkpoint and the bundle are kept (default ~/.cache/beem/bench-scale)
  --json            one JSON object`;

export const benchScaleCommand: Command = {
  name: "bench-scale",
  summary:
    "early exit on real-sized models (vit-gpt2, BERT-base) with random weights (timing only)",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        ...options("preset images texts exit-layers shortlist batch repeats cache", "json"),
      },
      usage,
    );
    if (values.preset === undefined) throw new UsageError(`Give --preset\n${usage}`);
    const preset = oneOf(values.preset, "--preset", Object.keys(SCALE_PRESETS) as ScalePreset[]);
    const p = SCALE_PRESETS[preset];
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
    const cache = resolve(values.cache ?? beemCacheDir("bench-scale"));
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
    const result = await usageOn(["TOOL_FAILED"], () =>
      benchScale({
        preset,
        cache,
        items,
        exitLayers,
        shortlist,
        batch,
        repeats,
        log: (m) => io.stderr(`${m}\n`),
      }),
    );
    io.stdout(values.json === true ? JSON.stringify(result.report) + "\n" : scaleSummary(result));
  },
};
