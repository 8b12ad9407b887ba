import { resolve } from "node:path";
import {
  Captioner,
  scoreCaptions,
  type CaptionOptions,
  type CaptionResult,
} from "@beem-ts/caption";
import { median } from "@beem-ts/core";
import { numberOption, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import { textTable } from "../format.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultCaptionModel, policyChoice } from "../models.js";
import { createProgress } from "../progress.js";
import {
  TJS_THREADS,
  candidates,
  exitLayerByDifficulty,
  meanExitLayer as meanExitOf,
  pairedTiming,
  recording,
  tokenStats,
  transformersJsAgainst,
  writeScenes,
} from "../caption-runs.js";
import type { Command } from "../command.js";

const usage = `Usage: beem caption-eval [--scenes 100] [--seed 1000] [--rule R --lambda X | --policy FILE] [--repeats 3] [--json] [--no-tjs]
  Generates held-out scenes, captions them at full depth and with early exit, scores both
  against the five references, and times them side by side: every image captioned both ways
  back to back (order alternated; image decoding and encoder included), speed-up the median
  over --repeats passes. transformers.js' image-to-text pipeline on the same weights is timed
  against early exit the same way, in blocks of 25 images (one pass).
${POLICY_USAGE}
  --model DIR     caption bundle (default: models/caption-beem)
  --tjs DIR       transformers.js export of the same weights (default: <model>-tjs)
  --no-tjs        skip the transformers.js timing`;

export const captionEvalCommand: Command = {
  name: "caption-eval",
  summary: "caption quality and measured speed-up of early exit on held-out scenes",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        ...POLICY_OPTIONS,
        scenes: { type: "string" },
        seed: { type: "string" },
        repeats: { type: "string" },
        json: { type: "boolean" },
        model: { type: "string" },
        tjs: { type: "string" },
        "no-tjs": { type: "boolean" },
      },
      usage,
    );
    const count = numberOption(values.scenes, "--scenes", 100, 1);
    const seed = numberOption(values.seed, "--seed", 1000, 0);
    const repeats = numberOption(values.repeats, "--repeats", 3, 1);
    const modelDir = resolve(values.model ?? defaultCaptionModel());
    const tjsDir = resolve(values.tjs ?? `${modelDir}-tjs`);
    const choice = await policyChoice(values);
    if (choice.full === true) {
      throw new UsageError("caption-eval compares early exit with full depth: drop --full");
    }
    const set = await writeScenes(seed, count);
    const captioner = await Captioner.load(modelDir);
    try {
      const policy = await captioner.policyFor(choice);
      const early: CaptionOptions = { policy };
      const full: CaptionOptions = { full: true };
      const progress = createProgress("caption-eval");
      const total = repeats + (values["no-tjs"] === true ? 0 : 1);
      let done = 0;
      const earlyRun = recording(captioner, early);
      const fullRun = recording(captioner, full);
      await earlyRun.run(set.files[0]!, 0); // warm-up: the first run of each graph is slower
      await fullRun.run(set.files[0]!, 0);
      const timing = await pairedTiming(set.files, earlyRun.run, fullRun.run, {
        repeats,
        onRepeat: () => progress.update(++done, total),
      });
      const score = (texts: readonly string[]) =>
        scoreCaptions({ refs: set.refs, cands: candidates(set, texts) });
      const fullScores = score(fullRun.results.map((r) => r.text));
      const earlyScores = score(earlyRun.results.map((r) => r.text));
      const { meanExitLayer, tokenAgreement } = tokenStats(earlyRun.results, fullRun.results);
      const L = captioner.numExits;
      // Mean exit layer by number of objects in the scene (by difficulty: exitLayerByDifficulty).
      const byObjects = new Map<number, CaptionResult[]>();
      earlyRun.results.forEach((r, i) => {
        const objects = set.scenes[i]!.objects.length;
        byObjects.set(objects, [...(byObjects.get(objects) ?? []), r]);
      });
      const meanExitLayerByObjects = Object.fromEntries(
        [...byObjects].sort(([a], [b]) => a - b).map(([k, rs]) => [k, meanExitOf(rs)]),
      );
      let tjs: { ms: number; speedup: number; cider: number; threads: string } | undefined;
      if (values["no-tjs"] !== true) {
        const run = await transformersJsAgainst(captioner, tjsDir, set.files, (f) =>
          captioner.caption(f, early),
        );
        progress.update(++done, total);
        tjs = {
          ms: run.tjsMs,
          speedup: run.tjsMs / run.oursMs,
          cider: score(run.texts).ciderD,
          threads: TJS_THREADS,
        };
      }
      progress.finish();
      const report = {
        scenes: count,
        seed,
        rule: policy.rule,
        lambda: policy.lambda ?? null,
        ciderFull: fullScores.ciderD,
        cider: earlyScores.ciderD,
        bleu4Full: fullScores.bleu4,
        bleu4: earlyScores.bleu4,
        rougeLFull: fullScores.rougeL,
        rougeL: earlyScores.rougeL,
        meanExitLayer,
        countedSpeedup: L / meanExitLayer,
        measuredSpeedup: timing.speedup,
        tokenAgreement,
        meanExitLayerByObjects,
        meanExitLayerByDifficulty: exitLayerByDifficulty(set, fullRun.results, earlyRun.results),
        fullMs: median(timing.bMs),
        earlyMs: median(timing.aMs),
        repeats,
        ...(tjs && {
          transformersJsSpeedup: tjs.speedup,
          transformersJsMs: tjs.ms,
          transformersJsCider: tjs.cider,
          transformersJsThreads: tjs.threads,
        }),
      };
      if (values.json === true) {
        io.stdout(JSON.stringify(report) + "\n");
        return;
      }
      io.stdout(
        textTable(
          ["", "CIDEr-D", "BLEU-4", "ROUGE-L", "ms (median)"],
          [
            ["full depth", report.ciderFull, report.bleu4Full, report.rougeLFull, report.fullMs],
            ["early exit", report.cider, report.bleu4, report.rougeL, report.earlyMs],
          ],
        ) +
          `mean exit layer ${meanExitLayer.toFixed(2)} of ${L}; counted speed-up ${report.countedSpeedup.toFixed(2)}x, measured ${report.measuredSpeedup.toFixed(2)}x` +
          (tjs
            ? `; transformers.js ${tjs.ms.toFixed(0)} ms (${report.transformersJsSpeedup!.toFixed(2)}x slower than early exit)`
            : "") +
          "\n",
      );
    } finally {
      await captioner.dispose();
      await set.remove();
    }
  },
};
