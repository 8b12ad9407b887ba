import { mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { Captioner, scoreCaptions, type CaptionOptions } from "@beem-ts/caption";
import { CALIBRATION_RULES, median, type CalibrationRule } from "@beem-ts/core";
import { integerOption, numberList, oneOf, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import { csv, formatNumber, textTable, type Cell } from "../format.js";
import { defaultCaptionModel } from "../models.js";
import { renderSvg, svgToPng, tradeOffSpec, type TradeOffPoint } from "../plot.js";
import { createProgress } from "../progress.js";
import {
  TJS_DEFAULT_THREADS,
  candidates,
  captionPass,
  pairedSpeedup,
  pairedTiming,
  tjsThreadsLabel,
  recording,
  tokenStats,
  transformersJsAgainst,
  writeScenes,
} from "../caption-runs.js";
import type { Command } from "../command.js";

const DEFAULT_RULES = ["beem-a", "beem-c", "maxprob", "entropy", "patience"] as const;
const DEFAULT_LAMBDAS = [0, 0.01, 0.05, 0.2, 0.5];

const usage = `Usage: beem caption-sweep --out DIR [--scenes 200] [--seed 1000] [--rules ${DEFAULT_RULES.join(",")}] [--lambdas ${DEFAULT_LAMBDAS.join(",")}] [--repeats 2] [--no-tjs]
  Caption quality against measured speed-up for each rule and lambda on held-out scenes. Each
  point's policy is fitted on the bundle's calibration log; its speed-up is the time of full
  depth in the fused graph (the model run the ordinary way) over early-exit time, every image
  captioned both ways back to back (order alternated, image decoding and encoder included),
  median over --repeats passes. Writes caption-sweep.md, .csv, .json, and a plot of CIDEr-D
  against measured speed-up (.svg, .png) with one curve per rule and the fused full-depth,
  layer-by-layer full-depth and transformers.js points.
  --rules R,...   rules to sweep (${CALIBRATION_RULES.join(", ")})
  --lambdas X,... cost parameters (>= 0)
  --model DIR     caption bundle (default: models/caption-beem)
  --tjs DIR       transformers.js export of the same weights (default: <model>-tjs)
  --no-tjs        leave out the transformers.js point`;

const HEADER = [
  "rule",
  "lambda",
  "ciderD",
  "bleu4",
  "rougeL",
  "meanExitLayer",
  "countedSpeedup",
  "measuredSpeedup",
  "tokenAgreement",
  "ms",
] as const;
type Row = Record<(typeof HEADER)[number], Cell>;

function markdown(rows: readonly Row[]): string {
  const cell = (c: Cell) => (typeof c === "number" ? formatNumber(c, 3) : String(c));
  return [
    `| ${HEADER.join(" | ")} |`,
    `| ${HEADER.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${HEADER.map((h) => cell(r[h])).join(" | ")} |`),
  ].join("\n");
}

export const captionSweepCommand: Command = {
  name: "caption-sweep",
  summary: "caption quality against measured speed-up per rule and lambda (table and plot)",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        out: { type: "string" },
        scenes: { type: "string" },
        seed: { type: "string" },
        rules: { type: "string" },
        lambdas: { type: "string" },
        repeats: { type: "string" },
        model: { type: "string" },
        tjs: { type: "string" },
        "no-tjs": { type: "boolean" },
      },
      usage,
    );
    if (values.out === undefined) throw new UsageError(`Give --out DIR\n${usage}`);
    const count = integerOption(values.scenes, "--scenes", 200, 1);
    const seed = integerOption(values.seed, "--seed", 1000, 0);
    const repeats = integerOption(values.repeats, "--repeats", 2, 1);
    const lambdas = numberList(values.lambdas, "--lambdas", 0) ?? DEFAULT_LAMBDAS;
    const rules: CalibrationRule[] =
      values.rules === undefined
        ? [...DEFAULT_RULES]
        : values.rules.split(",").map((r) => oneOf(r.trim(), "--rules", CALIBRATION_RULES));
    const out = resolve(values.out);
    const modelDir = resolve(values.model ?? defaultCaptionModel());
    const tjsDir = resolve(values.tjs ?? `${modelDir}-tjs`);
    const set = await writeScenes(seed, count);
    const captioner = await Captioner.load(modelDir);
    try {
      const withTjs = values["no-tjs"] !== true;
      const total =
        1 +
        (rules.length * lambdas.length + (captioner.fusedFullDepth ? 1 : 0)) * repeats +
        (withTjs ? 1 : 0);
      const progress = createProgress("caption-sweep");
      let done = 0;
      const tick = () => progress.update(++done, total);
      const full: CaptionOptions = { full: true };
      const pass = async (options: CaptionOptions) => {
        const p = await captionPass(captioner, set.files, options);
        tick();
        return p;
      };
      const fullRun = await pass(full); // also the warm-up
      const score = (texts: readonly string[]) =>
        scoreCaptions({ refs: set.refs, cands: candidates(set, texts) });
      const fullScores = score(fullRun.results.map((r) => r.text));
      const L = captioner.numExits;
      const fullMs: number[] = [];
      const rows: Row[] = [];
      const captionWith = (options: CaptionOptions) => (f: string) => captioner.caption(f, options);
      for (const rule of rules) {
        for (const lambda of lambdas) {
          const run = recording(captioner, { policy: await captioner.policyFor({ rule, lambda }) });
          const timing = await pairedTiming(set.files, run.run, captionWith(full), {
            repeats,
            onRepeat: tick,
          });
          fullMs.push(...timing.bMs);
          const scores = score(run.results.map((x) => x.text));
          const stats = tokenStats(run.results, fullRun.results);
          rows.push({
            rule,
            lambda,
            ciderD: scores.ciderD,
            bleu4: scores.bleu4,
            rougeL: scores.rougeL,
            meanExitLayer: stats.meanExitLayer,
            countedSpeedup: L / stats.meanExitLayer,
            measuredSpeedup: timing.speedup,
            tokenAgreement: stats.tokenAgreement,
            ms: median(timing.aMs),
          });
        }
      }
      const fullMedian = median(fullMs.length > 0 ? fullMs : [fullRun.ms]);
      // Without fused graphs full depth already runs layer by layer: no second point.
      const layerByLayer = captioner.fusedFullDepth
        ? await pairedTiming(
            set.files,
            captionWith(full),
            captionWith({ full: true, layerByLayer: true }),
            { repeats, onRepeat: tick },
          )
        : undefined;
      const fullDepthRow = (rule: string, measuredSpeedup: number, ms: number): Row => ({
        rule,
        lambda: "",
        ciderD: fullScores.ciderD,
        bleu4: fullScores.bleu4,
        rougeL: fullScores.rougeL,
        meanExitLayer: L,
        countedSpeedup: 1,
        measuredSpeedup,
        tokenAgreement: 1,
        ms,
      });
      const references: Row[] = [
        fullDepthRow(
          captioner.fusedFullDepth ? "full depth (fused)" : "full depth (layer by layer)",
          1,
          fullMedian,
        ),
      ];
      if (layerByLayer)
        references.push(
          fullDepthRow(
            "full depth (layer by layer)",
            1 / layerByLayer.speedup,
            median(layerByLayer.bMs),
          ),
        );
      if (withTjs) {
        const run = await transformersJsAgainst(
          captioner,
          tjsDir,
          set.files,
          { full: captionWith(full) },
          { threads: TJS_DEFAULT_THREADS, onRepeat: tick },
        );
        const s = score(run.texts);
        references.push({
          rule: "transformers.js",
          lambda: "",
          ciderD: s.ciderD,
          bleu4: s.bleu4,
          rougeL: s.rougeL,
          meanExitLayer: L,
          countedSpeedup: 1,
          measuredSpeedup: pairedSpeedup(run.tjsMs, run.oursMs.full),
          tokenAgreement: "",
          ms: median(run.tjsMs),
        });
      }
      progress.finish();
      const all = [...references, ...rows];
      const point = (r: Row, series: string): TradeOffPoint => ({
        series,
        speedup: r.measuredSpeedup as number,
        quality: r.ciderD as number,
        label: String(r.lambda),
      });
      const spec = tradeOffSpec({
        title: `CIDEr-D against measured speed-up, ${count} held-out scenes (seed ${seed})`,
        xTitle: "measured speed-up over fused full depth (wall-clock)",
        yTitle: "CIDEr-D",
        curves: rows.map((r) => point(r, String(r.rule))),
        references: references.map((r) => point(r, String(r.rule))),
      });
      const svg = await renderSvg(spec);
      await mkdir(out, { recursive: true });
      const meta = {
        scenes: count,
        seed,
        repeats,
        model: relative(process.cwd(), modelDir) || ".",
        fullDepth: captioner.fusedFullDepth ? "fused" : "layer-by-layer",
        transformersJsThreads: withTjs ? tjsThreadsLabel(TJS_DEFAULT_THREADS) : null,
      };
      await writeFile(
        join(out, "caption-sweep.csv"),
        csv(
          HEADER,
          all.map((r) => HEADER.map((h) => r[h])),
        ),
      );
      await writeFile(
        join(out, "caption-sweep.md"),
        `Caption quality against measured speed-up: ${count} held-out scenes of seed ${seed}, ` +
          `each image captioned early and at full depth (fused graph) back to back, median of ${repeats} passes per point (\`beem caption-sweep\`).\n\n` +
          markdown(all) +
          "\n",
      );
      await writeFile(
        join(out, "caption-sweep.json"),
        JSON.stringify({ ...meta, rows: all }, null, 2) + "\n",
      );
      await writeFile(join(out, "caption-sweep.svg"), svg);
      await writeFile(join(out, "caption-sweep.png"), await svgToPng(svg));
      io.stdout(
        textTable(
          [...HEADER],
          all.map((r) => HEADER.map((h) => r[h])),
        ) + `wrote caption-sweep.{md,csv,json,svg,png} to ${out}\n`,
      );
    } finally {
      await captioner.dispose();
      await set.remove();
    }
  },
};
