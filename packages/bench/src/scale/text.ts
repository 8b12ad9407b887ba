// The scale benchmark's text measurements: per text, classification at fused full depth and with every
// text forced to exit at given layers (a static policy: the decision code still runs), then
// batches at full depth and exiting at the middle exit layer, against counted multiply-adds;
// last, what the layer graphs' own sessions cost (sessions.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { median, seededRandom } from "@beem-ts/core";
import { ort } from "@beem-ts/runtime";
import { TextClassifier, type ClassifyOptions, type TextManifest } from "@beem-ts/text";
import { BenchError } from "../errors.js";
import { textTable } from "../tables.js";
import { pairedSpeedup, timeSideBySide } from "../timing.js";
import type { ScaleRun } from "./presets.js";
import { composedGraph, sessionCost, sessionsLine, type SessionWork } from "./sessions.js";

/** Words of the random checkpoint's tokenizer (make_tiny.py): one token each. */
const WORDS =
  "the a film movie is was not very good bad great awful story plot actors acting funny boring it and of to but with this that one best worst love hate fun dull moving".split(
    " ",
  );

/** Texts of 12 to 40 words (14 to 42 tokens with [CLS] and [SEP]; SST-2's sentences average 25). */
function makeTexts(count: number): string[] {
  const random = seededRandom(5);
  return Array.from({ length: count }, () => {
    const n = 12 + Math.floor(random() * 29);
    return Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ");
  });
}

interface Shape {
  readonly hidden: number;
  readonly ffn: number;
}

/** Multiply-adds of one layer and one exit head (pooler and classifier) for s tokens. */
function multiplyAdds(shape: Shape, labels: number, s: number) {
  const d = shape.hidden;
  return { layer: s * (4 * d * d + 2 * d * shape.ffn) + 2 * s * s * d, head: d * d + d * labels };
}

/**
 * The first k layer graphs on one text of `tokens` tokens: in turn, composed, and the fused
 * graph (which also runs the embeddings and the last k layers).
 */
function textSessionWork(
  bundle: string,
  manifest: TextManifest,
  k: number,
  tokens: number,
  log: (m: string) => void,
): SessionWork {
  const fusedSpec = manifest.graphs.fused!;
  const specs = manifest.graphs.layers.slice(0, k);
  const D = manifest.hiddenSize;
  const hidden = new ort.Tensor(
    "float32",
    Float32Array.from({ length: tokens * D }, (_, i) => Math.sin(i)),
    [1, tokens, D],
  );
  const mask = new ort.Tensor("int64", new BigInt64Array(tokens).fill(1n), [1, tokens]);
  // Token ids among the random checkpoint's first hundred (its words).
  const ids = new ort.Tensor(
    "int64",
    BigInt64Array.from({ length: tokens }, (_, i) => BigInt(5 + (i % 60))),
    [1, tokens],
  );
  const composedFeeds = { hidden, attention_mask: mask };
  const fusedFeeds = { [fusedSpec.inputs[0]!]: ids, [fusedSpec.inputs[1]!]: mask };
  return {
    layerFiles: specs.map((l) => join(bundle, l.file)),
    composedFile: composedGraph(bundle, k, log),
    fusedFile: join(bundle, fusedSpec.file),
    split: async (sessions) => {
      let h: ort.Tensor = hidden;
      const logits: Float32Array[] = [];
      for (const [i, session] of sessions.entries()) {
        const spec = specs[i]!;
        const out = await session.run({ [spec.inputs[0]!]: h, [spec.inputs[1]!]: mask });
        h = out[spec.outputs[0]!]!;
        logits.push(out[spec.outputs[1]!]!.data as Float32Array);
      }
      return logits;
    },
    composed: async (session) => {
      const out = await session.run(composedFeeds);
      return specs.map((_, i) => out[`logits_${i + 1}`]!.data as Float32Array);
    },
    fused: (session) => session.run(fusedFeeds),
  };
}

/** Times the text bundle `bundle` (a converted random BERT-shaped checkpoint). */
export async function benchScaleText(bundle: string, run: ScaleRun) {
  const { preset, items: count, exitLayers, repeats, batch, log } = run;
  const L = run.layers;
  const manifest = JSON.parse(readFileSync(join(bundle, "manifest.json"), "utf8"));
  const classifier = await TextClassifier.load(bundle);
  try {
    const texts = makeTexts(count);
    const staticAt = (k: number): ClassifyOptions => ({
      policy: { version: 1, rule: "static", numExits: L, layer: k },
    });
    const ways: Record<string, ClassifyOptions> = { full: { full: true } };
    for (const k of exitLayers) ways[`exit${k}`] = staticAt(k);
    // Every text exits where forced (a check that the static policy is what runs).
    for (const k of exitLayers) {
      const out = await classifier.classify(texts, staticAt(k));
      if (!out.every((c) => c.exitLayer === k))
        throw new BenchError("CHECK_FAILED", `bench-scale: not every text exited at layer ${k}`);
    }
    log(
      `timing ${count} texts, ${repeats} passes: full depth and exits at ${exitLayers.join(", ")}`,
    );
    const runners = Object.fromEntries(
      Object.entries(ways).map(([name, options]) => [
        name,
        (text: string) => classifier.classify(text, options),
      ]),
    );
    const t = await timeSideBySide(texts, runners, { repeats, warmUp: true });

    const shape: Shape = manifest.conversion;
    const labels = classifier.labels.length;
    // Every word is one token of the checkpoint's vocabulary, with [CLS] and [SEP] around them.
    const tokenCounts = texts.map((text) => text.split(" ").length + 2);
    const counted = (k: number, counts: readonly number[] = tokenCounts) => {
      let full = 0;
      let early = 0;
      for (const s of counts) {
        const m = multiplyAdds(shape, labels, s);
        full += L * m.layer + m.head;
        early += k * (m.layer + m.head);
      }
      return full / early;
    };

    // Throughput: batches of `batch` texts at full depth and exiting at each exit layer.
    const groups: string[][] = [];
    for (let i = 0; i < texts.length; i += batch) groups.push(texts.slice(i, i + batch));
    log(`timing batches of ${batch}`);
    const batchWays: Record<string, (g: string[]) => Promise<unknown>> = {
      full: (g) => classifier.classify(g, { full: true, batchSize: batch }),
    };
    for (const k of exitLayers)
      batchWays[`exit${k}`] = (g) => classifier.classify(g, { ...staticAt(k), batchSize: batch });
    const batchMs = await timeSideBySide(groups, batchWays, { repeats, warmUp: true });
    const rate = (ms: readonly number[]) => median(ms.map((m) => (1000 * count) / m));
    const middle = exitLayers[Math.floor(exitLayers.length / 2)] ?? Math.floor(L / 2);
    const meanTokens = Math.round(tokenCounts.reduce((a, b) => a + b, 0) / count);
    log(`timing layers 1-${middle} in their own sessions against one composed graph`);
    const sessions = {
      ...(await sessionCost(
        middle,
        textSessionWork(bundle, classifier.manifest, middle, meanTokens, log),
        { repeats, runs: 10 },
      )),
      tokens: meanTokens,
      countedSpeedup: counted(middle, [meanTokens]),
    };
    const exits = exitLayers.map((k) => ({
      layer: k,
      ms: median(t[`exit${k}`]!) / count,
      speedup: pairedSpeedup(t[`exit${k}`]!, t.full!),
      countedSpeedup: counted(k),
      batchTextsPerSecond: rate(batchMs[`exit${k}`]!),
      batchThroughputSpeedup: pairedSpeedup(batchMs[`exit${k}`]!, batchMs.full!),
    }));
    const report = {
      preset,
      task: "text-classification",
      layers: L,
      texts: count,
      tokensPerText: tokenCounts.reduce((a, b) => a + b, 0) / count,
      fullMs: median(t.full!) / count,
      exits,
      batch: {
        size: batch,
        exitLayer: middle,
        fullTextsPerSecond: rate(batchMs.full!),
        earlyTextsPerSecond: rate(batchMs[`exit${middle}`]!),
        throughputSpeedup: pairedSpeedup(batchMs[`exit${middle}`]!, batchMs.full!),
        countedSpeedup: counted(middle),
      },
      /**
       * The first `layer` layer graphs (with their exit heads) on one text of `tokens` tokens,
       * in their own sessions against the same graphs composed into one (sessions.ts).
       */
      sessions,
      repeats,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      note: "timing only: random weights; speed-ups against the fused full-depth graph, tokenising included",
    };
    return report;
  } finally {
    await classifier.dispose();
  }
}

/** What `benchScaleText` returns. */
export type ScaleTextReport = Awaited<ReturnType<typeof benchScaleText>>;

/** The report as a table of exit layers and summary lines. */
export function scaleTextSummary(report: ScaleTextReport): string {
  return (
    textTable(
      ["exit layer", "ms per text", "speed-up", "counted", `batch ${report.batch.size} speed-up`],
      [
        ["full (fused)", report.fullMs, 1, 1, 1],
        ...report.exits.map((e) => [
          e.layer,
          e.ms,
          e.speedup,
          e.countedSpeedup,
          e.batchThroughputSpeedup,
        ]),
      ],
    ) +
    `batch ${report.batch.size}: ${report.batch.fullTextsPerSecond.toFixed(1)} texts/s at full depth, ${report.batch.earlyTextsPerSecond.toFixed(1)} exiting at ${report.batch.exitLayer} (${report.batch.throughputSpeedup.toFixed(2)}x, counted ${report.batch.countedSpeedup.toFixed(2)}x); peak RSS ${report.peakRssMb.toFixed(0)} MB\n` +
    sessionsLine(report.sessions)
  );
}
