// The scale benchmark's captioning measurements: per image the encoder, decoding at fused full depth and
// with every token forced to exit at given layers, the heads against a layer, what the step
// graphs' own sessions cost (sessions.ts), batched decoding.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { Captioner, type CaptionOptions } from "@beem-ts/caption";
import { median, seededRandom } from "@beem-ts/core";
import { createSession, ort } from "@beem-ts/runtime";
import { timeWays } from "../caption-runs.js";
import { textTable } from "../tables.js";
import { pairedSpeedup, timeSideBySide } from "../timing.js";
import type { ScaleRun } from "./presets.js";
import { composedGraph, sessionCost, sessionsLine, type SessionWork } from "./sessions.js";

/** What the caption runtime fetches from a step graph (CaptionModel.step). */
const STEP_FETCHES = [
  "hidden_out",
  "present_key",
  "present_value",
  "prediction",
  "confidence",
  "entropy",
];

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

/**
 * One position (8 cached positions) through the first k step graphs: in turn, composed, and the
 * fused step graph (which also runs the token embedding, the last layers and the full head).
 */
function captionSessionWork(
  bundle: string,
  manifest: {
    graphs: { layers: { step: string }[]; fused: { step: string } };
    tokens: { bos: number };
  },
  k: number,
  hidden: ort.Tensor,
  past: ort.Tensor,
  cross: readonly { key: ort.Tensor; value: ort.Tensor }[],
  log: (m: string) => void,
): SessionWork {
  const L = manifest.graphs.layers.length;
  const own = (i: number) => ({
    past_key: past,
    past_value: past,
    cross_key: cross[i]!.key,
    cross_value: cross[i]!.value,
  });
  const numbered = (layers: number) =>
    Object.fromEntries(
      Array.from({ length: layers }, (_, i) =>
        Object.entries(own(i)).map(([name, t]) => [`${name}_${i + 1}`, t] as const),
      ).flat(),
    );
  const summaries = (out: ort.InferenceSession.ReturnType, suffix: string) => [
    out[`confidence${suffix}`]!.data as Float32Array,
    out[`entropy${suffix}`]!.data as Float32Array,
  ];
  // Every feed that does not change from run to run is built once, outside the timed runs.
  const layerFeeds = Array.from({ length: k }, (_, i) => own(i));
  const composedFeeds = { hidden, ...numbered(k) };
  const fusedFeeds = {
    input_ids: new ort.Tensor("int64", BigInt64Array.from([BigInt(manifest.tokens.bos)]), [1, 1]),
    position_ids: new ort.Tensor("int64", BigInt64Array.from([8n]), [1, 1]),
    ...numbered(L),
  };
  const fusedFetches = ["prediction", "confidence", "entropy"];
  for (let i = 1; i <= L; i++) fusedFetches.push(`present_key_${i}`, `present_value_${i}`);
  return {
    layerFiles: manifest.graphs.layers.slice(0, k).map((l) => join(bundle, l.step)),
    composedFile: composedGraph(bundle, k, log),
    fusedFile: join(bundle, manifest.graphs.fused.step),
    split: async (sessions) => {
      let h = hidden;
      const out: Float32Array[] = [];
      for (const [i, session] of sessions.entries()) {
        const o = await session.run({ hidden: h, ...layerFeeds[i]! }, STEP_FETCHES);
        h = o.hidden_out!;
        out.push(...summaries(o, ""));
      }
      return out;
    },
    composed: async (session) => {
      const o = await session.run(composedFeeds);
      return Array.from({ length: k }, (_, i) => summaries(o, `_${i + 1}`)).flat();
    },
    fused: (session) => session.run(fusedFeeds, fusedFetches),
  };
}

/** Times the caption bundle `bundle` (a converted random vit-gpt2-shaped checkpoint). */
export async function benchScaleCaption(bundle: string, options: ScaleRun) {
  const { preset, items: count, exitLayers, repeats, batch, shortlist, log } = options;
  const L = options.layers;
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
    const tokens = (name: string) => t[name]!.results.reduce((n, r) => n + r.exitLayers.length, 0);
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
    // Every layer's step graph in turn, as decoding runs them; then the same with a head graph
    // timed after each layer. A graph repeated by itself keeps its weights in cache (the
    // shortlist head's 6 MB fit) and reads faster than it runs between layers.
    const heads = manifest.benchmarkGraphs as { shortlistHead: string; fullHead: string };
    const headSessions = await Promise.all(
      [heads.shortlistHead, heads.fullHead].map((file) => createSession(join(bundle, file))),
    );
    const times = {
      step: [] as number[],
      shortlistHead: [] as number[],
      fullHead: [] as number[],
    };
    const step = (layer: number) =>
      model.step(layer, hidden, { key: past, value: past }, cross[layer]!);
    try {
      for (let round = 0; round <= 10; round++) {
        let t0 = performance.now();
        for (let layer = 0; layer < L; layer++) await step(layer);
        const stepTotal = performance.now() - t0;
        const head = { shortlistHead: 0, fullHead: 0 };
        for (let layer = 0; layer < L; layer++) {
          await step(layer);
          const key = layer % 2 === 0 ? "shortlistHead" : "fullHead";
          t0 = performance.now();
          await headSessions[key === "shortlistHead" ? 0 : 1]!.run({ hidden });
          head[key] += performance.now() - t0;
        }
        if (round === 0) continue; // warm-up
        times.step.push(stepTotal / L);
        times.shortlistHead.push(head.shortlistHead / Math.ceil(L / 2));
        times.fullHead.push(head.fullHead / Math.floor(L / 2));
      }
    } finally {
      await Promise.all(headSessions.map((session) => session.release()));
    }
    const stepMs = median(times.step);
    const shortlistHeadMs = median(times.shortlistHead);
    const fullHeadMs = median(times.fullHead);
    const layerMs = stepMs - shortlistHeadMs;

    // The graphs alone: one position (8 cached positions) through the fused step graph, and
    // through the first k step graphs in turn, side by side, 10 positions per pass.
    const pastKv = { key: past, value: past };
    const pasts = Array.from({ length: L }, () => pastKv);
    const bos: number = manifest.tokens.bos;
    const graphWays: Record<string, () => Promise<unknown>> = {
      full: () => model.fullStep([bos], 8, pasts, cross),
    };
    for (const k of exitLayers)
      graphWays[`exit${k}`] = async () => {
        for (let layer = 0; layer < k; layer++) await step(layer);
      };
    log("timing the graphs alone");
    const graphMs = await timeSideBySide(
      Array.from({ length: 10 }, (_, i) => i),
      graphWays,
      { repeats, warmUp: true },
    );

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
        /**
         * The graphs alone, without the decoding loop: the first k step graphs in turn against
         * one run of the fused step graph, for one position (paired, median of --repeats).
         */
        graphsSpeedup: pairedSpeedup(graphMs[name]!, graphMs.full!),
      };
    });

    const middle = exitLayers[Math.floor(exitLayers.length / 2)] ?? Math.floor(L / 2);
    log(`timing step graphs 1-${middle} in their own sessions against one composed graph`);
    const sessions = {
      ...(await sessionCost(
        middle,
        captionSessionWork(bundle, manifest, middle, hidden, past, cross, log),
        { repeats, runs: 10 },
      )),
      countedSpeedup: fullMacs / (middle * (macs.layer + macs.shortlistHead)),
    };

    // Throughput: batches of `batch` images at full depth and exiting at the middle layer;
    // decoding (the loop over positions) and end to end (images, encoder and decoding).
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
      /**
       * The first `layer` step graphs on one position, in their own sessions against the same
       * graphs composed into one (sessions.ts).
       */
      sessions,
      repeats,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      note: "timing only: random weights",
    };
    return report;
  } finally {
    await captioner.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What `benchScaleCaption` returns. */
export type ScaleCaptionReport = Awaited<ReturnType<typeof benchScaleCaption>>;

/** The report as a table of exit layers and summary lines. */
export function scaleCaptionSummary(report: ScaleCaptionReport): string {
  return (
    textTable(
      ["exit layer", "decoder ms/image", "decoder speed-up", "counted", "end to end"],
      [
        ["full (fused)", report.fullDecoderMs, 1, 1, 1],
        ...report.exits.map((e) => [
          e.layer,
          e.decoderMs,
          e.decoderSpeedup,
          e.countedSpeedup,
          e.endToEndSpeedup,
        ]),
      ],
    ) +
    `encoder ${report.encoderMs.toFixed(1)} ms per image; shortlist head ${report.shortlistHeadMs.toFixed(3)} ms (${(100 * report.shortlistHeadShare).toFixed(0)}% of a layer's ${report.layerMs.toFixed(3)} ms), full head ${report.fullHeadMs.toFixed(3)} ms; ` +
    `batch ${report.batch.size}: decoding ${report.batch.throughputSpeedup.toFixed(2)}x tokens per second exiting at ${report.batch.exitLayer} (${report.batch.endToEndThroughputSpeedup.toFixed(2)}x with the encoder); peak RSS ${report.peakRssMb.toFixed(0)} MB\n` +
    sessionsLine(report.sessions)
  );
}
