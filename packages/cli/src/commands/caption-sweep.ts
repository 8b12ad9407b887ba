import { resolve } from "node:path";
import { Captioner } from "@beem-ts/caption";
import { CALIBRATION_RULES, type CalibrationRule } from "@beem-ts/core";
import {
  SWEEP_COLUMNS,
  SWEEP_LAMBDAS,
  SWEEP_RULES,
  alignedTable,
  captionSweepReport,
  sweepCaptions,
  writeTableReport,
} from "@beem-ts/bench";
import { options, integerOption, numberList, oneOf, parse } from "../args.js";
import {
  CAPTION_SET_OPTIONS,
  captionSetUsage,
  openCaptionSet,
  tjsDirFor,
} from "../caption-set-options.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";
import { evalCaptionModel } from "../models.js";
import { createProgress } from "../progress.js";

const usage = `Usage: beem caption-sweep --out DIR (--data FILE [--split test] | --scenes N [--seed 1000]) [--rules ${SWEEP_RULES.join(",")}] [--lambdas ${SWEEP_LAMBDAS.join(",")}] [--repeats 2] [--no-tjs]
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
        ...options("rules lambdas repeats model tjs", "no-tjs"),
      },
      usage,
    );
    if (values.out === undefined) throw new UsageError(`Give --out DIR\n${usage}`);
    const repeats = integerOption(values.repeats, "--repeats", 2, 1);
    const lambdas = numberList(values.lambdas, "--lambdas", 0) ?? SWEEP_LAMBDAS;
    const rules: readonly CalibrationRule[] =
      values.rules === undefined
        ? SWEEP_RULES
        : values.rules.split(",").map((r) => oneOf(r.trim(), "--rules", CALIBRATION_RULES));
    const out = resolve(values.out);
    const modelDir = resolve(values.model ?? evalCaptionModel(values.scenes));
    const tjsDir = await tjsDirFor(modelDir, values, io.stderr);
    const set = await openCaptionSet(values);
    const captioner = await Captioner.load(modelDir);
    try {
      const progress = createProgress("caption-sweep");
      const sweep = await sweepCaptions(captioner, set, {
        rules,
        lambdas,
        repeats,
        transformersJsDir: tjsDir,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.finish();
      const report = captionSweepReport(sweep, {
        source: set.source,
        repeats,
        model: modelDir,
        fusedFullDepth: captioner.fusedFullDepth,
        transformersJs: tjsDir !== undefined,
      });
      const files = await writeTableReport(out, report);
      io.stdout(alignedTable(SWEEP_COLUMNS, report.rows) + `wrote ${files.join(", ")} to ${out}\n`);
    } finally {
      await captioner.dispose();
      await set.remove();
    }
  },
};
