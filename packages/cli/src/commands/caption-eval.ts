import { resolve } from "node:path";
import {
  Captioner,
  SKIPPED_LAYER_FILLS,
  scoreCaptions,
  type CaptionOptions,
  type CaptionResult,
} from "@beem-ts/caption";
import { median } from "@beem-ts/core";
import { integerOption, numberOption, oneOf, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import { textTable } from "../format.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultCaptionModel, policyChoice } from "../models.js";
import { createProgress } from "../progress.js";
import {
  TJS_DEFAULT_THREADS,
  candidates,
  exitLayerByDifficulty,
  meanExitLayer as meanExitOf,
  pairedSpeedup,
  timeWays,
  tjsThreadsLabel,
  tokenStats,
  transformersJsAgainst,
  writeScenes,
} from "../caption-runs.js";
import type { Command } from "../command.js";

const usage = `Usage: beem caption-eval [--scenes 100] [--seed 1000] [--rule R --lambda X | --policy FILE] [--repeats 3] [--json] [--no-tjs]
  Generates held-out scenes, captions them with early exit, at full depth in the fused graph
  (the model run the ordinary way: the baseline) and at full depth layer by layer, scores them
  against the five references, and times them side by side: every image captioned all three
  ways back to back (order rotated; image decoding and encoder included), each speed-up the
  median over --repeats passes of the ratio of the passes' times. transformers.js'
  image-to-text pipeline on the same weights is timed against early exit and fused full depth
  in blocks of 25 images, --repeats passes.
${POLICY_USAGE}
  --model DIR     caption bundle (default: models/caption-beem)
  --tjs DIR       transformers.js export of the same weights (default: <model>-tjs)
  --fill F        how skipped layers get their keys/values: deferred (default) or eager
  --tjs-threads N intra-op threads of transformers.js' sessions (default 0: its own default, the
                  fastest measured here)
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
        "tjs-threads": { type: "string" },
        fill: { type: "string" },
        "no-tjs": { type: "boolean" },
      },
      usage,
    );
    const count = numberOption(values.scenes, "--scenes", 100, 1);
    const seed = numberOption(values.seed, "--seed", 1000, 0);
    const repeats = numberOption(values.repeats, "--repeats", 3, 1);
    const tjsThreadsOption = integerOption(
      values["tjs-threads"],
      "--tjs-threads",
      TJS_DEFAULT_THREADS ?? 0,
      0,
    );
    const tjsThreads = tjsThreadsOption === 0 ? undefined : tjsThreadsOption;
    const modelDir = resolve(values.model ?? defaultCaptionModel());
    const tjsDir = resolve(values.tjs ?? `${modelDir}-tjs`);
    const choice = await policyChoice(values);
    const fill = oneOf(values.fill ?? "deferred", "--fill", SKIPPED_LAYER_FILLS);
    if (choice.full === true) {
      throw new UsageError("caption-eval compares early exit with full depth: drop --full");
    }
    const set = await writeScenes(seed, count);
    const captioner = await Captioner.load(modelDir);
    try {
      const policy = await captioner.policyFor(choice);
      const early: CaptionOptions = { policy, fill };
      const full: CaptionOptions = { full: true };
      const progress = createProgress("caption-eval");
      const withTjs = values["no-tjs"] !== true;
      const total = repeats * (withTjs ? 2 : 1);
      let done = 0;
      const tick = () => progress.update(++done, total);
      const ways = await timeWays(
        captioner,
        set.files,
        { early, full, layerByLayer: { full: true, layerByLayer: true } },
        { repeats, onRepeat: tick },
      );
      const earlyRun = ways.early;
      const fullRun = ways.full;
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
      let tjs:
        | { ms: number; speedup: number; fullSpeedup: number; cider: number; threads: string }
        | undefined;
      if (withTjs) {
        const run = await transformersJsAgainst(
          captioner,
          tjsDir,
          set.files,
          {
            early: (f: string) => captioner.caption(f, early),
            full: (f: string) => captioner.caption(f, full),
          },
          { repeats, onRepeat: tick, threads: tjsThreads },
        );
        tjs = {
          ms: median(run.tjsMs),
          speedup: pairedSpeedup(run.oursMs.early, run.tjsMs),
          fullSpeedup: pairedSpeedup(run.oursMs.full, run.tjsMs),
          cider: score(run.texts).ciderD,
          threads: tjsThreadsLabel(tjsThreads),
        };
      }
      progress.finish();
      const report = {
        scenes: count,
        seed,
        rule: policy.rule,
        lambda: policy.lambda ?? null,
        fill,
        ciderFull: fullScores.ciderD,
        cider: earlyScores.ciderD,
        bleu4Full: fullScores.bleu4,
        bleu4: earlyScores.bleu4,
        rougeLFull: fullScores.rougeL,
        rougeL: earlyScores.rougeL,
        meanExitLayer,
        countedSpeedup: L / meanExitLayer,
        fullDepth: captioner.fusedFullDepth ? "fused" : "layer-by-layer",
        measuredSpeedup: pairedSpeedup(ways.early.ms, ways.full.ms),
        layerByLayerSpeedup: pairedSpeedup(ways.early.ms, ways.layerByLayer.ms),
        fusedOverLayerByLayer: pairedSpeedup(ways.full.ms, ways.layerByLayer.ms),
        decoderSpeedup: pairedSpeedup(ways.early.decodeMs, ways.full.decodeMs),
        fixedMsPerImage: median(ways.early.fixedMs) / count,
        tokenAgreement,
        meanExitLayerByObjects,
        meanExitLayerByDifficulty: exitLayerByDifficulty(set, fullRun.results, earlyRun.results),
        fullMs: median(ways.full.ms),
        layerByLayerMs: median(ways.layerByLayer.ms),
        earlyMs: median(ways.early.ms),
        repeats,
        ...(tjs && {
          transformersJsSpeedup: tjs.speedup,
          transformersJsOverFull: tjs.fullSpeedup,
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
            [
              `full depth (${report.fullDepth})`,
              report.ciderFull,
              report.bleu4Full,
              report.rougeLFull,
              report.fullMs,
            ],
            ["full depth, layer by layer", "", "", "", report.layerByLayerMs],
            ["early exit", report.cider, report.bleu4, report.rougeL, report.earlyMs],
          ],
        ) +
          `mean exit layer ${meanExitLayer.toFixed(2)} of ${L}; counted speed-up ${report.countedSpeedup.toFixed(2)}x, ` +
          `measured ${report.measuredSpeedup.toFixed(2)}x against ${report.fullDepth} full depth ` +
          `(decoder alone ${report.decoderSpeedup.toFixed(2)}x; ${report.layerByLayerSpeedup.toFixed(2)}x against layer-by-layer full depth)` +
          (tjs
            ? `; transformers.js ${tjs.ms.toFixed(0)} ms (${tjs.speedup.toFixed(2)}x early exit's time, ${tjs.fullSpeedup.toFixed(2)}x fused full depth's)`
            : "") +
          "\n",
      );
    } finally {
      await captioner.dispose();
      await set.remove();
    }
  },
};
