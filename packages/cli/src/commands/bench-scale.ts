import { spawnSync } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import sharp from "sharp";
import { Captioner, type CaptionOptions } from "@beem-ts/caption";
import { median, seededRandom } from "@beem-ts/core";
import { createSession, ort } from "@beem-ts/runtime";
import { integerOption, numberList, oneOf, parse } from "../args.js";
import { timeWays } from "../caption-runs.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";
import { textTable } from "../format.js";
import { REPO_ROOT } from "../models.js";
import { printReport } from "../reports.js";
import { pairedSpeedup, timeSideBySide } from "../timing.js";

/** Shapes of random Hugging Face checkpoints (make_tiny.py's flags) the benchmark builds. */
const PRESETS = {
  /** vit-gpt2-image-captioning's shape: ViT-base 224/16, 12 GPT-2 layers of 768, 50,257 tokens. */
  "vit-gpt2": {
    make: "--layers 12 --heads 12 --width 768 --positions 1024 --image 224 --patch 16 --encoder-layers 12 --encoder-width 768 --encoder-heads 12 --vocab-size 50257 --max-length 16",
    layers: 12,
    shortlist: 2048,
    exitLayers: [3, 6, 9],
    images: 8,
    batch: 8,
  },
  /** A small shape for the tests (seconds). */
  small: {
    make: "--layers 4 --heads 4 --width 64 --positions 64 --image 32 --patch 8 --encoder-layers 2 --encoder-width 64 --vocab-size 4096 --max-length 16",
    layers: 4,
    shortlist: 256,
    exitLayers: [1, 2, 3],
    images: 4,
    batch: 4,
  },
} as const;
type Preset = keyof typeof PRESETS;

const usage = `Usage: beem bench-scale --preset vit-gpt2|small [--images N] [--exit-layers 3,6,9] [--shortlist K] [--batch B] [--repeats 3] [--cache DIR] [--json]
  Timing only, on random weights: builds once, in a cache folder outside the repository, a
  random Hugging Face checkpoint of the preset's shape and converts it (pnpm convert:vit-gpt2
  --no-distill: shortlist heads as initialised), then times per image the encoder, decoding at
  fused full depth, and decoding with every token forced to exit at each --exit-layers layer
  (a static policy: the decision code still runs), each speed-up paired with full depth and
  the median of --repeats passes; the shortlist head against the full head and a layer; batched
  decoding (--batch images at a time) at full depth and exiting at the middle exit layer.
  --preset P        ${Object.keys(PRESETS).join(" or ")}
  --images N        images per pass (default: the preset's, 8 for vit-gpt2)
  --exit-layers L,. layers to force exits at, each in 1..L-1 (default: the preset's)
  --shortlist K     tokens of the exit heads (default 2048 for vit-gpt2)
  --batch B         images per batch for the throughput figure (default: the preset's)
  --repeats R       passes (default 3)
  --cache DIR       where the checkpoint and the bundle are kept (default ~/.cache/beem/bench-scale)
  --json            one JSON object`;

function python(): string {
  return process.env.PYTHON ?? "/usr/bin/python3";
}

/** The preset's converted bundle in the cache, built on first use. */
function ensureBundle(cache: string, preset: Preset, shortlist: number, log: (m: string) => void) {
  const hf = join(cache, preset, "hf");
  const bundle = join(cache, preset, `bundle-k${shortlist}`);
  if (existsSync(join(bundle, "manifest.json"))) return bundle;
  const env = { ...process.env, OMP_NUM_THREADS: "2", OPENBLAS_NUM_THREADS: "2" };
  const run = (what: string, args: string[]) => {
    log(`${what}...`);
    const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", env, cwd: REPO_ROOT });
    if (r.error !== undefined || r.status !== 0)
      throw new UsageError(
        `bench-scale: ${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr?.trim().split("\n").slice(-3).join(" ")}`,
      );
  };
  if (!existsSync(join(hf, "config.json")))
    run(`writing a random ${preset} checkpoint to ${hf}`, [
      python(),
      join(REPO_ROOT, "training/vit_gpt2/make_tiny.py"),
      "--out",
      hf,
      "--scale",
      "0.02",
      ...PRESETS[preset].make.split(" "),
    ]);
  run(`converting it to ${bundle}`, [
    "bash",
    join(REPO_ROOT, "training/vit_gpt2/convert.sh"),
    "--hf",
    hf,
    "--out",
    bundle,
    "--no-distill",
    "--head-graphs",
    "--shortlist",
    String(shortlist),
  ]);
  return bundle;
}

/** Random images at the model's input size (no resampling). */
async function writeImages(dir: string, count: number, size: number): Promise<string[]> {
  const random = seededRandom(11);
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const raw = Buffer.from(
      Array.from({ length: size * size * 3 }, () => Math.floor(random() * 256)),
    );
    const file = join(dir, `image${i}.png`);
    await sharp(raw, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** Median time of `runs` calls of `fn` after a warm-up, in milliseconds. */
async function timeCalls(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

export const benchScaleCommand: Command = {
  name: "bench-scale",
  summary: "early exit on a vit-gpt2-shaped model with random weights (timing only)",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        preset: { type: "string" },
        images: { type: "string" },
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
    const count = integerOption(values.images, "--images", p.images, 1);
    const shortlist = integerOption(values.shortlist, "--shortlist", p.shortlist, 2);
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
    const log = (m: string) => io.stderr(`${m}\n`);
    const bundle = ensureBundle(cache, preset, shortlist, log);
    const manifest = JSON.parse(readFileSync(join(bundle, "manifest.json"), "utf8"));
    const dir = mkdtempSync(join(tmpdir(), "beem-bench-scale-"));
    const captioner = await Captioner.load(bundle);
    try {
      const size: number = manifest.image.size;
      const files = await writeImages(dir, count, size);
      const staticAt = (k: number): CaptionOptions => ({
        policy: { version: 1, rule: "static", numExits: L, layer: k },
      });
      const ways: Record<string, CaptionOptions> = { full: { full: true } };
      for (const k of exitLayers) ways[`exit${k}`] = staticAt(k);
      log(
        `timing ${count} images, ${repeats} passes: full depth and exits at ${exitLayers.join(", ")}`,
      );
      const t = await timeWays(captioner, files, ways, { repeats });
      const tokens = (name: string) =>
        t[name]!.results.reduce((n, r) => n + r.exitLayers.length, 0);
      const perToken = (name: string, key: "ms" | "decodeMs") =>
        t[name]![key].map((ms) => ms / tokens(name));
      const fullTokens = tokens("full");
      const encoderMs = median(t.full!.results.map((r) => r.timings.encoderMs));

      // A layer's step graph (layer and shortlist head) and the heads alone, on one position.
      const D: number = manifest.hiddenSize;
      const H: number = manifest.heads;
      const Dh: number = manifest.headDim;
      const model = captioner.model;
      const memory = await model.encode([new Float32Array(3 * size * size)]);
      const cross = await model.crossKvAll(memory);
      const hidden = new ort.Tensor("float32", new Float32Array(D), [1, 1, D]);
      const past = new ort.Tensor("float32", new Float32Array(H * 8 * Dh), [1, H, 8, Dh]);
      const stepMs = await timeCalls(
        () => model.step(0, hidden, { key: past, value: past }, cross[0]!),
        50,
      );
      const heads = manifest.benchmarkGraphs as { shortlistHead: string; fullHead: string };
      const headMs = async (file: string) => {
        const session = await createSession(join(bundle, file));
        try {
          return await timeCalls(() => session.run({ hidden }), 50);
        } finally {
          await session.release();
        }
      };
      const shortlistHeadMs = await headMs(heads.shortlistHead);
      const fullHeadMs = await headMs(heads.fullHead);
      const layerMs = stepMs - shortlistHeadMs;

      const macs = manifest.conversion.multiplyAdds as {
        layer: number;
        shortlistHead: number;
        fullHead: number;
      };
      const fullMacs = L * macs.layer + macs.fullHead;
      const fullDecodePerToken = perToken("full", "decodeMs");
      const exits = exitLayers.map((k) => {
        const name = `exit${k}`;
        const decodePerToken = perToken(name, "decodeMs");
        return {
          layer: k,
          tokens: tokens(name),
          decoderMs: median(t[name]!.decodeMs) / count,
          decoderSpeedup: pairedSpeedup(decodePerToken, fullDecodePerToken),
          countedSpeedup: fullMacs / (k * (macs.layer + macs.shortlistHead)),
          endToEndSpeedup: pairedSpeedup(perToken(name, "ms"), perToken("full", "ms")),
          /** Decoding time per token outside the k layers' own step graphs, per layer. */
          overheadMsPerLayer: (median(decodePerToken) - k * stepMs) / k,
        };
      });

      // Throughput: batches of `batch` images at full depth and exiting at the middle layer;
      // decoding (the loop over positions) and end to end (images, encoder and decoding).
      const middle = exitLayers[Math.floor(exitLayers.length / 2)] ?? Math.floor(L / 2);
      const groups: string[][] = [];
      for (let i = 0; i < files.length; i += batch) groups.push(files.slice(i, i + batch));
      log(`timing batches of ${batch}`);
      const batchWays = { full: { full: true }, early: staticAt(middle) };
      const decodeMs = { full: [] as number[], early: [] as number[] };
      const batchTokens = { full: 0, early: 0 };
      let pass = -1;
      const run = (key: "full" | "early") => async (group: string[]) => {
        const results = await captioner.captionBatch(group, batchWays[key]);
        const ok = results.flatMap((r) => (r.ok ? [r.result] : []));
        if (pass < 0) batchTokens[key] += ok.reduce((n, r) => n + r.exitLayers.length, 0);
        else decodeMs[key][pass]! += ok[0]?.timings.decodeMs ?? 0;
      };
      // A first pass (also the warm-up) counts the tokens: every pass decodes the same ones.
      for (const g of groups) for (const key of ["full", "early"] as const) await run(key)(g);
      const startPass = () => {
        pass++;
        decodeMs.full.push(0);
        decodeMs.early.push(0);
      };
      startPass();
      const batchMs = await timeSideBySide(
        groups,
        { full: run("full"), early: run("early") },
        { repeats, onRepeat: () => pass < repeats - 1 && startPass() },
      );
      const rate = (tokens: number, ms: readonly number[]) => ms.map((t) => (1000 * tokens) / t);
      const report = {
        preset,
        layers: L,
        images: count,
        tokensPerImage: fullTokens / count,
        encoderMs,
        fullDecoderMs: median(t.full!.decodeMs) / count,
        exits,
        batch: {
          size: batch,
          exitLayer: middle,
          /** Generated tokens per second of the decoding loop (the encoder apart). */
          fullTokensPerSecond: median(rate(batchTokens.full, decodeMs.full)),
          earlyTokensPerSecond: median(rate(batchTokens.early, decodeMs.early)),
          throughputSpeedup: pairedSpeedup(decodeMs.early, decodeMs.full),
          /** The same with image decoding and the encoder included. */
          endToEndFullTokensPerSecond: median(rate(batchTokens.full, batchMs.full)),
          endToEndEarlyTokensPerSecond: median(rate(batchTokens.early, batchMs.early)),
          endToEndThroughputSpeedup: pairedSpeedup(batchMs.early, batchMs.full),
        },
        stepMs,
        layerMs,
        shortlistHeadMs,
        fullHeadMs,
        shortlistHeadShare: shortlistHeadMs / layerMs,
        shortlist,
        repeats,
        peakRssMb: process.resourceUsage().maxRSS / 1024,
        note: "timing only: random weights",
      };
      printReport(io, report, {
        json: values.json === true,
        text: () =>
          textTable(
            ["exit layer", "decoder ms/image", "decoder speed-up", "counted", "end to end"],
            [
              ["full (fused)", report.fullDecoderMs, 1, 1, 1],
              ...exits.map((e) => [
                e.layer,
                e.decoderMs,
                e.decoderSpeedup,
                e.countedSpeedup,
                e.endToEndSpeedup,
              ]),
            ],
          ) +
          `encoder ${encoderMs.toFixed(1)} ms per image; shortlist head ${shortlistHeadMs.toFixed(3)} ms (${(100 * report.shortlistHeadShare).toFixed(0)}% of a layer's ${layerMs.toFixed(3)} ms), full head ${fullHeadMs.toFixed(3)} ms; ` +
          `batch ${batch}: decoding ${report.batch.throughputSpeedup.toFixed(2)}x tokens per second exiting at ${middle} (${report.batch.endToEndThroughputSpeedup.toFixed(2)}x with the encoder); peak RSS ${report.peakRssMb.toFixed(0)} MB\n`,
      });
    } finally {
      await captioner.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
