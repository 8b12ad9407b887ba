import { basename, relative, resolve } from "node:path";
import { Captioner, scoreCaptions, type CaptionOptions } from "@beem-ts/caption";
import { CALIBRATION_RULES, median, type CalibrationRule } from "@beem-ts/core";
import { integerOption, numberList, oneOf, parse } from "../args.js";
import type { CaptionSet } from "../caption-data.js";
import {
  CAPTION_SET_OPTIONS,
  captionSetUsage,
  openCaptionSet,
  type CaptionSetSource,
} from "../caption-set-options.js";
import { UsageError } from "../cli-error.js";
import { evalCaptionModel } from "../models.js";
import { tjsDirFor } from "../tjs-export.js";
import type { TradeOffPoint } from "../plot.js";
import { createProgress } from "../progress.js";
import { alignedTable, writeTableReport, type Row } from "../reports.js";
import {
  TJS_DEFAULT_THREADS,
  candidates,
  timeWays,
  tjsThreadsLabel,
  tokenStats,
  transformersJsAgainst,
} from "../caption-runs.js";
import type { Command } from "../command.js";
import { pairedSpeedup } from "../timing.js";

const DEFAULT_RULES = ["beem-a", "beem-c", "maxprob", "entropy", "patience"] as const;
const DEFAULT_LAMBDAS = [0, 0.01, 0.05, 0.2, 0.5];

const usage = `Usage: beem caption-sweep --out DIR (--data FILE [--split test] | --scenes N [--seed 1000]) [--rules ${DEFAULT_RULES.join(",")}] [--lambdas ${DEFAULT_LAMBDAS.join(",")}] [--repeats 2] [--no-tjs]
  Caption quality against measured speed-up for each rule and lambda on held-out scenes or one
  split of a caption data set. Each
  point's policy is fitted on the bundle's calibration log; its speed-up is the time of full
  depth in the fused graph (the model run the ordinary way) over early-exit time, every image
  captioned both ways back to back (order alternated, image decoding and encoder included),
  median over --repeats passes. Writes caption-sweep.md, .csv, .json, and a plot of CIDEr-D
  against measured speed-up (.svg, .png) with one curve per rule and the fused full-depth,
  layer-by-layer full-depth and transformers.js points.
${captionSetUsage()}
  --rules R,...   rules to sweep (${CALIBRATION_RULES.join(", ")})
  --lambdas X,... cost parameters (>= 0)
  --model DIR     caption bundle (default: models/photo-caption; with --scenes, models/caption-beem)
  --tjs DIR       transformers.js export of the same weights (default: made from the bundle
                  into ~/.cache/beem/tjs; left out with a note when it cannot be made)
  --no-tjs        leave out the transformers.js point`;

const COLUMNS = [
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
type SweepRow = Row<(typeof COLUMNS)[number]>;

interface SweepPlan {
  readonly rules: readonly CalibrationRule[];
  readonly lambdas: readonly number[];
  readonly repeats: number;
  /** transformers.js' export of the same weights, or none. */
  readonly tjsDir: string | undefined;
}

/**
 * Every rule at every lambda timed against fused full depth, and the reference points: fused
 * full depth (1x), full depth layer by layer and transformers.js, each against fused full depth.
 */
async function measureSweep(
  captioner: Captioner,
  set: CaptionSet,
  plan: SweepPlan,
  tick: () => void,
): Promise<{ rows: SweepRow[]; references: SweepRow[] }> {
  const full: CaptionOptions = { full: true };
  const L = captioner.numExits;
  const score = (texts: readonly string[]) =>
    scoreCaptions({ refs: set.refs, cands: candidates(set, texts) });
  const fullMs: number[] = [];
  const rows: SweepRow[] = [];
  let fullScores: ReturnType<typeof score> | undefined;
  for (const rule of plan.rules) {
    for (const lambda of plan.lambdas) {
      const early: CaptionOptions = { policy: await captioner.policyFor({ rule, lambda }) };
      const ways = await timeWays(
        captioner,
        set.files,
        { early, full },
        {
          repeats: plan.repeats,
          onRepeat: tick,
        },
      );
      fullMs.push(...ways.full.ms);
      fullScores ??= score(ways.full.results.map((r) => r.text));
      const scores = score(ways.early.results.map((x) => x.text));
      const stats = tokenStats(ways.early.results, ways.full.results);
      rows.push({
        rule,
        lambda,
        ciderD: scores.ciderD,
        bleu4: scores.bleu4,
        rougeL: scores.rougeL,
        meanExitLayer: stats.meanExitLayer,
        countedSpeedup: L / stats.meanExitLayer,
        measuredSpeedup: pairedSpeedup(ways.early.ms, ways.full.ms),
        tokenAgreement: stats.tokenAgreement,
        ms: median(ways.early.ms),
      });
    }
  }
  const fullDepthRow = (rule: string, measuredSpeedup: number, ms: number): SweepRow => ({
    rule,
    lambda: "",
    ciderD: fullScores!.ciderD,
    bleu4: fullScores!.bleu4,
    rougeL: fullScores!.rougeL,
    meanExitLayer: L,
    countedSpeedup: 1,
    measuredSpeedup,
    tokenAgreement: 1,
    ms,
  });
  const fusedName = captioner.fusedFullDepth ? "full depth (fused)" : "full depth (layer by layer)";
  const references = [fullDepthRow(fusedName, 1, median(fullMs))];
  // Without fused graphs full depth already runs layer by layer: no second point.
  if (captioner.fusedFullDepth) {
    const ways = await timeWays(
      captioner,
      set.files,
      { full, layerByLayer: { full: true, layerByLayer: true } },
      { repeats: plan.repeats, onRepeat: tick },
    );
    references.push(
      fullDepthRow(
        "full depth (layer by layer)",
        pairedSpeedup(ways.layerByLayer.ms, ways.full.ms),
        median(ways.layerByLayer.ms),
      ),
    );
  }
  if (plan.tjsDir !== undefined) {
    const run = await transformersJsAgainst(
      captioner,
      plan.tjsDir,
      set.files,
      { full: (f: string) => captioner.caption(f, full) },
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
  return { rows, references };
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
        ...CAPTION_SET_OPTIONS,
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
    const repeats = integerOption(values.repeats, "--repeats", 2, 1);
    const lambdas = numberList(values.lambdas, "--lambdas", 0) ?? DEFAULT_LAMBDAS;
    const rules: CalibrationRule[] =
      values.rules === undefined
        ? [...DEFAULT_RULES]
        : values.rules.split(",").map((r) => oneOf(r.trim(), "--rules", CALIBRATION_RULES));
    const out = resolve(values.out);
    const modelDir = resolve(values.model ?? evalCaptionModel(values.scenes));
    const withTjs = values["no-tjs"] !== true;
    const tjsDir = withTjs
      ? await tjsDirFor(
          modelDir,
          values.tjs === undefined ? undefined : resolve(values.tjs),
          io.stderr,
        )
      : undefined;
    const { set, source } = await openCaptionSet(values);
    const what = describeSet(source);
    const captioner = await Captioner.load(modelDir);
    try {
      const total =
        (rules.length * lambdas.length + (captioner.fusedFullDepth ? 1 : 0)) * repeats +
        (tjsDir !== undefined ? 1 : 0);
      const progress = createProgress("caption-sweep");
      let done = 0;
      const { rows, references } = await measureSweep(
        captioner,
        set,
        { rules, lambdas, repeats, tjsDir },
        () => progress.update(++done, total),
      );
      progress.finish();
      const all = [...references, ...rows];
      const point = (r: SweepRow): TradeOffPoint => ({
        series: String(r.rule),
        speedup: r.measuredSpeedup as number,
        quality: r.ciderD as number,
        label: String(r.lambda),
      });
      const files = await writeTableReport(out, {
        name: "caption-sweep",
        caption:
          `Caption quality against measured speed-up: ${what}, ` +
          `each image captioned early and at full depth (fused graph) back to back, median of ${repeats} passes per point (\`beem caption-sweep\`).`,
        columns: COLUMNS,
        rows: all,
        meta: {
          ...(source.kind === "scenes"
            ? { scenes: source.scenes, seed: source.seed }
            : {
                data: relative(process.cwd(), source.data),
                split: source.split,
                images: source.images,
              }),
          repeats,
          model: relative(process.cwd(), modelDir) || ".",
          fullDepth: captioner.fusedFullDepth ? "fused" : "layer-by-layer",
          transformersJsThreads: tjsDir !== undefined ? tjsThreadsLabel(TJS_DEFAULT_THREADS) : null,
        },
        plot: {
          title: `CIDEr-D against measured speed-up, ${what}`,
          xTitle: "measured speed-up over fused full depth (wall-clock)",
          yTitle: "CIDEr-D",
          curves: rows.map(point),
          references: references.map(point),
        },
      });
      io.stdout(alignedTable(COLUMNS, all) + `wrote ${files.join(", ")} to ${out}\n`);
    } finally {
      await captioner.dispose();
      await set.remove();
    }
  },
};

/** "200 held-out scenes of seed 1000", "125 photos of the test split of captions.jsonl". */
function describeSet(source: CaptionSetSource): string {
  return source.kind === "scenes"
    ? `${source.scenes} held-out scenes of seed ${source.seed}`
    : `${source.images} images of the ${source.split} split of ${basename(source.data)}`;
}
