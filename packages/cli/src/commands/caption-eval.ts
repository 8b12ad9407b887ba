import { relative, resolve } from "node:path";
import {
  Captioner,
  SKIPPED_LAYER_FILLS,
  scoreCaptions,
  type CaptionOptions,
  type CaptionResult,
  type SkippedLayerFill,
} from "@beem-ts/caption";
import { median, type Policy } from "@beem-ts/core";
import { integerOption, oneOf, parse } from "../args.js";
import { measureBaselines, type BaselineReport } from "../caption-baselines.js";
import {
  exitLayerByDifficulty,
  exitLayerByNaming,
  exitLayerByObjects,
  exitLayerByPhotoWordClass,
  exitLayerByWordClass,
} from "../caption-breakdowns.js";
import type { CaptionSet } from "../caption-data.js";
import {
  CAPTION_SET_OPTIONS,
  captionSetUsage,
  openCaptionSet,
  type CaptionSetSource,
} from "../caption-set-options.js";
import {
  TJS_DEFAULT_THREADS,
  candidates,
  timeWays,
  tjsThreadsLabel,
  tokenStats,
  transformersJsAgainst,
} from "../caption-runs.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";
import { textTable } from "../format.js";
import { POLICY_OPTIONS, POLICY_USAGE, evalCaptionModel, policyChoice } from "../models.js";
import { createProgress } from "../progress.js";
import { printReport } from "../reports.js";
import { pairedSpeedup, timeSideBySide } from "../timing.js";
import { tjsDirFor } from "../tjs-export.js";

const usage = `Usage: beem caption-eval (--data FILE [--split test] | --scenes N [--seed 1000]) [--rule R --lambda X | --policy FILE] [--repeats 3] [--batch B] [--beams K] [--json] [--no-tjs]
  Captions held-out scenes, or one split of a caption data set, with early exit, at full depth
  in the fused graph (the model run the ordinary way: the baseline) and at full depth layer by
  layer, scores them against their references, and times them side by side: every image
  captioned all three ways back to back (order rotated; image decoding and encoder included),
  each speed-up the median over --repeats passes of the ratio of the passes' times.
  transformers.js' image-to-text pipeline on the same weights is timed against early exit and
  fused full depth in blocks of 25 images, --repeats passes. Also reports where tokens exit:
  by image difficulty and by word class (and for scenes, by number of objects and for scenes
  named right or not). With --data, also: a nearest-neighbour baseline (consensus re-ranking
  over the k training photos closest by the captioner's encoder features, k chosen on the dev
  split), human agreement (each reference against the other four, and the captions against
  the same four), and degenerate captions (cut at the length limit; a word three times in a
  row).
${captionSetUsage()}
  --nn-k K        the nearest-neighbour baseline's k (default: the best on the dev split)
${POLICY_USAGE}
  --model DIR     caption bundle (default: models/photo-caption; with --scenes, models/caption-beem)
  --tjs DIR       transformers.js export of the same weights (default: made from the bundle
                  into ~/.cache/beem/tjs by training/common/export_tjs.py; needs Python
                  with onnx, else the comparison is left out with a note)
  --fill F        how skipped layers get their keys/values: deferred (default) or eager
  --batch B       also time early exit on batches of B images (captionBatch) against one image
                  at a time: "batch" in the report
  --beams K       also caption with beam search of width K, early and at full depth: quality
                  and time against greedy decoding ("beams" in the report)
  --tjs-threads N intra-op threads of transformers.js' sessions (default 0: its own default, the
                  fastest measured here)
  --no-tjs        skip the transformers.js timing`;

interface EvalPlan {
  readonly policy: Policy;
  readonly fill: SkippedLayerFill;
  readonly repeats: number;
  readonly batch: number | undefined;
  readonly beams: number | undefined;
  readonly tjs: { readonly dir: string; readonly threads: number | undefined } | undefined;
  /** The nearest-neighbour baseline's k (undefined: chosen on the dev split). */
  readonly nnK: number | undefined;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Early exit on batches of `size` images against the same images one at a time. */
async function measureBatching(
  captioner: Captioner,
  files: readonly string[],
  early: CaptionOptions,
  size: number,
  repeats: number,
  tick: () => void,
) {
  const batched: string[] = [];
  const single: string[] = [];
  const ms = await timeSideBySide(
    chunks(files, size),
    {
      batched: async (group: string[], k: number) => {
        const results = await captioner.captionBatch(group, early);
        results.forEach((r, j) => (batched[k * size + j] = r.ok ? r.result.text : ""));
      },
      oneAtATime: async (group: string[], k: number) => {
        for (const [j, f] of group.entries())
          single[k * size + j] = (await captioner.caption(f, early)).text;
      },
    },
    { repeats, warmUp: true, onRepeat: tick },
  );
  return {
    size,
    ms: median(ms.batched),
    oneAtATimeMs: median(ms.oneAtATime),
    speedup: pairedSpeedup(ms.batched, ms.oneAtATime),
    sameCaptions: batched.every((t, i) => t === single[i]),
  };
}

/** Measures everything the report holds; plain numbers, no formatting. */
async function measureCaptionEval(
  captioner: Captioner,
  set: CaptionSet,
  source: CaptionSetSource,
  plan: EvalPlan,
  tick: () => void,
) {
  const early: CaptionOptions = { policy: plan.policy, fill: plan.fill };
  const full: CaptionOptions = { full: true };
  const ways = await timeWays(
    captioner,
    set.files,
    { early, full, layerByLayer: { full: true, layerByLayer: true } },
    { repeats: plan.repeats, onRepeat: tick },
  );
  const score = (results: readonly (CaptionResult | string)[]) =>
    scoreCaptions({
      refs: set.refs,
      cands: candidates(
        set,
        results.map((r) => (typeof r === "string" ? r : r.text)),
      ),
    });
  const fullScores = score(ways.full.results);
  const earlyScores = score(ways.early.results);
  const { meanExitLayer, tokenAgreement } = tokenStats(ways.early.results, ways.full.results);
  const L = captioner.numExits;
  let tjs;
  if (plan.tjs !== undefined) {
    const run = await transformersJsAgainst(
      captioner,
      plan.tjs.dir,
      set.files,
      {
        early: (f: string) => captioner.caption(f, early),
        full: (f: string) => captioner.caption(f, full),
      },
      { repeats: plan.repeats, onRepeat: tick, threads: plan.tjs.threads },
    );
    tjs = {
      transformersJsSpeedup: pairedSpeedup(run.oursMs.early, run.tjsMs),
      transformersJsOverFull: pairedSpeedup(run.oursMs.full, run.tjsMs),
      transformersJsMs: median(run.tjsMs),
      transformersJsCider: score(run.texts).ciderD,
      transformersJsThreads: tjsThreadsLabel(plan.tjs.threads),
    };
  }
  const batch =
    plan.batch === undefined
      ? undefined
      : await measureBatching(captioner, set.files, early, plan.batch, plan.repeats, tick);
  let beams;
  if (plan.beams !== undefined) {
    const k = plan.beams;
    const t = await timeWays(
      captioner,
      set.files,
      { early, full, earlyBeams: { ...early, beams: k }, fullBeams: { full: true, beams: k } },
      { repeats: plan.repeats, onRepeat: tick },
    );
    beams = {
      width: k,
      ciderFull: score(t.fullBeams.results).ciderD,
      cider: score(t.earlyBeams.results).ciderD,
      greedyCiderFull: fullScores.ciderD,
      greedyCider: earlyScores.ciderD,
      /** Time of beam search over greedy decoding (median of per-pass ratios). */
      timeOverGreedyFull: pairedSpeedup(t.full.ms, t.fullBeams.ms),
      timeOverGreedy: pairedSpeedup(t.early.ms, t.earlyBeams.ms),
    };
  }
  const baselines: BaselineReport | undefined =
    source.kind === "data"
      ? await measureBaselines(captioner, {
          rows: source.rows,
          ids: set.ids,
          refs: set.refs,
          full: ways.full.results,
          early: ways.early.results,
          k: plan.nnK,
        })
      : undefined;
  const scenes = set.scenes;
  return {
    ...(source.kind === "scenes"
      ? { scenes: source.scenes, seed: source.seed }
      : { data: relative(process.cwd(), source.data), split: source.split, images: source.images }),
    rule: plan.policy.rule,
    lambda: plan.policy.lambda ?? null,
    fill: plan.fill,
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
    fixedMsPerImage: median(ways.early.fixedMs) / set.files.length,
    tokenAgreement,
    ...(scenes && {
      meanExitLayerByObjects: exitLayerByObjects(scenes, ways.early.results),
    }),
    meanExitLayerByDifficulty: exitLayerByDifficulty(
      set.ids.map((id) => set.refs[id]!),
      ways.full.results,
      ways.early.results,
    ),
    meanExitLayerByWordClass: scenes
      ? exitLayerByWordClass(ways.early.results)
      : exitLayerByPhotoWordClass(ways.early.results),
    ...(scenes && {
      meanExitLayerByNaming: exitLayerByNaming(scenes, ways.early.results),
    }),
    fullMs: median(ways.full.ms),
    layerByLayerMs: median(ways.layerByLayer.ms),
    earlyMs: median(ways.early.ms),
    repeats: plan.repeats,
    ...tjs,
    ...(batch && { batch }),
    ...(beams && { beams }),
    ...baselines,
  };
}

type EvalReport = Awaited<ReturnType<typeof measureCaptionEval>>;

function reportText(report: EvalReport, L: number): string {
  return (
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
    `mean exit layer ${report.meanExitLayer.toFixed(2)} of ${L}; counted speed-up ${report.countedSpeedup.toFixed(2)}x, ` +
    `measured ${report.measuredSpeedup.toFixed(2)}x against ${report.fullDepth} full depth ` +
    `(decoder alone ${report.decoderSpeedup.toFixed(2)}x; ${report.layerByLayerSpeedup.toFixed(2)}x against layer-by-layer full depth)` +
    (report.transformersJsMs !== undefined
      ? `; transformers.js ${report.transformersJsMs.toFixed(0)} ms (${report.transformersJsSpeedup!.toFixed(2)}x early exit's time, ${report.transformersJsOverFull!.toFixed(2)}x fused full depth's)`
      : "") +
    "\n" +
    (report.batch
      ? `batches of ${report.batch.size}: ${report.batch.ms.toFixed(0)} ms against ${report.batch.oneAtATimeMs.toFixed(0)} ms one at a time (${report.batch.speedup.toFixed(2)}x), same captions: ${report.batch.sameCaptions}\n`
      : "") +
    (report.nearestNeighbour
      ? `nearest neighbour (k ${report.nearestNeighbour.k}, chosen on ${report.nearestNeighbour.kChosenOn}): CIDEr-D ${report.nearestNeighbour.ciderD.toFixed(3)}, BLEU-4 ${report.nearestNeighbour.bleu4.toFixed(3)}; ` +
        `against ${report.leaveOneOut!.rotations - 1} references (leave-one-out): humans CIDEr-D ${report.leaveOneOut!.human.ciderD.toFixed(3)}, BLEU-4 ${report.leaveOneOut!.human.bleu4.toFixed(3)}; ` +
        `full depth ${report.leaveOneOut!.full.ciderD.toFixed(3)}, ${report.leaveOneOut!.full.bleu4.toFixed(3)}; early exit ${report.leaveOneOut!.early.ciderD.toFixed(3)}, ${report.leaveOneOut!.early.bleu4.toFixed(3)}\n` +
        `ended with the end token: ${report.degeneracy!.full.ended}/${report.degeneracy!.full.captions} at full depth, ${report.degeneracy!.early.ended}/${report.degeneracy!.early.captions} early; ` +
        `a word three times in a row: ${report.degeneracy!.full.repeatedWord} and ${report.degeneracy!.early.repeatedWord}\n`
      : "") +
    (report.beams
      ? `${report.beams.width} beams: CIDEr-D ${report.beams.ciderFull.toFixed(3)} at full depth, ${report.beams.cider.toFixed(3)} early (greedy ${report.beams.greedyCiderFull.toFixed(3)}, ${report.beams.greedyCider.toFixed(3)}), ` +
        `${report.beams.timeOverGreedyFull.toFixed(2)}x and ${report.beams.timeOverGreedy.toFixed(2)}x greedy's time\n`
      : "")
  );
}

export const captionEvalCommand: Command = {
  name: "caption-eval",
  summary: "caption quality and measured speed-up of early exit on held-out scenes",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        ...POLICY_OPTIONS,
        ...CAPTION_SET_OPTIONS,
        "nn-k": { type: "string" },
        repeats: { type: "string" },
        batch: { type: "string" },
        beams: { type: "string" },
        json: { type: "boolean" },
        model: { type: "string" },
        tjs: { type: "string" },
        "tjs-threads": { type: "string" },
        fill: { type: "string" },
        "no-tjs": { type: "boolean" },
      },
      usage,
    );
    const repeats = integerOption(values.repeats, "--repeats", 3, 1);
    const batch =
      values.batch === undefined ? undefined : integerOption(values.batch, "--batch", 1, 2);
    const beams =
      values.beams === undefined ? undefined : integerOption(values.beams, "--beams", 1, 2, 16);
    const tjsThreadsOption = integerOption(
      values["tjs-threads"],
      "--tjs-threads",
      TJS_DEFAULT_THREADS ?? 0,
      0,
    );
    const modelDir = resolve(values.model ?? evalCaptionModel(values.scenes));
    const choice = await policyChoice(values);
    const fill = oneOf(values.fill ?? "deferred", "--fill", SKIPPED_LAYER_FILLS);
    if (choice.full === true) {
      throw new UsageError("caption-eval compares early exit with full depth: drop --full");
    }
    const nnK =
      values["nn-k"] === undefined ? undefined : integerOption(values["nn-k"], "--nn-k", 1, 1);
    if (nnK !== undefined && values.data === undefined)
      throw new UsageError("--nn-k goes with --data");
    const { set, source } = await openCaptionSet(values);
    const captioner = await Captioner.load(modelDir);
    try {
      const tjsDir =
        values["no-tjs"] === true
          ? undefined
          : await tjsDirFor(
              modelDir,
              values.tjs === undefined ? undefined : resolve(values.tjs),
              io.stderr,
            );
      const withTjs = tjsDir !== undefined;
      const plan: EvalPlan = {
        policy: await captioner.policyFor(choice),
        fill,
        repeats,
        batch,
        beams,
        tjs: withTjs
          ? { dir: tjsDir, threads: tjsThreadsOption === 0 ? undefined : tjsThreadsOption }
          : undefined,
        nnK,
      };
      const passes =
        1 + [withTjs, batch, beams].filter((x) => x !== undefined && x !== false).length;
      const progress = createProgress("caption-eval");
      let done = 0;
      const report = await measureCaptionEval(captioner, set, source, plan, () =>
        progress.update(++done, passes * repeats),
      );
      progress.finish();
      printReport(io, report, {
        json: values.json === true,
        text: () => reportText(report, captioner.numExits),
      });
    } finally {
      await captioner.dispose();
      await set.remove();
    }
  },
};
