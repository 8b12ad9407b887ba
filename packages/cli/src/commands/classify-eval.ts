import { meanExitLayer, median } from "@beem-ts/core";
import {
  TextClassifier,
  readLabelledTexts,
  type Classification,
  type ClassifyOptions,
} from "@beem-ts/text";
import { numberOption, parse, required } from "../args.js";
import { textTable } from "../format.js";
import { printReport } from "../reports.js";
import { pairedSpeedup, timeSideBySide } from "../timing.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultTextModel, policyChoice } from "../models.js";
import { createProgress } from "../progress.js";
import type { Command } from "../command.js";

const usage = `Usage: beem classify-eval --data FILE.jsonl [--rule R --lambda X | --policy FILE] [--batch N] [--repeats 3] [--json]
  Accuracy and speed-up of early exit on labelled texts against full depth in the fused graph
  (the model run the ordinary way) and against full depth layer by layer, all timed side by
  side in one run: each repeat runs every way once (order rotated), each speed-up the median
  over repeats of the ratio of the repeats' times (tokenisation included).
${POLICY_USAGE}
  --batch N       also time batches of N (rows leave the batch as they exit): throughputSpeedup
  --repeats K     timed repeats of each mode (default 3)
  --model DIR     a text bundle (default: models/sst2-beem)`;

export const classifyEvalCommand: Command = {
  name: "classify-eval",
  summary: "accuracy and measured speed-up of early exit on labelled texts",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        ...POLICY_OPTIONS,
        data: { type: "string" },
        batch: { type: "string" },
        repeats: { type: "string" },
        json: { type: "boolean" },
        model: { type: "string" },
      },
      usage,
    );
    const choice = await policyChoice(values);
    const batch =
      values.batch === undefined ? undefined : numberOption(values.batch, "--batch", 1, 1);
    const repeats = numberOption(values.repeats, "--repeats", 3, 1);
    const classifier = await TextClassifier.load(values.model ?? defaultTextModel());
    try {
      const data = await readLabelledTexts(
        required(values.data, "--data", usage),
        classifier.labels.length,
      );
      const texts = data.map((d) => d.text);
      const policy = await classifier.policyFor(choice);
      const progress = createProgress("timing");
      const steps = (batch === undefined ? 1 : 2) * repeats;
      let done = 0;
      /** Every way over all the texts, side by side (a warm-up run of each first). */
      const compare = async (batchSize: number) => {
        const options = {
          early: { policy, batchSize },
          full: { full: true, batchSize },
          layerByLayer: { full: true, layerByLayer: true, batchSize },
        } satisfies Record<string, ClassifyOptions>;
        const results = {} as Record<keyof typeof options, Classification[]>;
        const way = (name: keyof typeof options) => async (all: readonly string[]) =>
          (results[name] = await classifier.classify(all, options[name]));
        const ms = await timeSideBySide(
          [texts],
          { early: way("early"), full: way("full"), layerByLayer: way("layerByLayer") },
          { repeats, warmUp: true, onRepeat: () => progress.update(++done, steps) },
        );
        return {
          ...results,
          earlyMs: median(ms.early),
          fullMs: median(ms.full),
          layerByLayerMs: median(ms.layerByLayer),
          speedup: pairedSpeedup(ms.early, ms.full),
          layerByLayerSpeedup: pairedSpeedup(ms.early, ms.layerByLayer),
          fusedOverLayerByLayer: pairedSpeedup(ms.full, ms.layerByLayer),
        };
      };
      const single = await compare(1);
      const batched = batch === undefined ? undefined : await compare(batch);
      progress.finish();
      const correct = (rs: readonly { labelId: number }[]) =>
        rs.filter((r, i) => r.labelId === data[i]!.label).length / data.length;
      const L = classifier.numExits;
      const meanExit = meanExitLayer(single.early.map((r) => r.exitLayer));
      const exitCounts = new Array<number>(L).fill(0);
      single.early.forEach((r) => exitCounts[r.exitLayer - 1]!++);
      const report = {
        samples: data.length,
        rule: policy.rule,
        lambda: policy.lambda ?? null,
        accuracy: correct(single.early),
        fullAccuracy: correct(single.full),
        meanExitLayer: meanExit,
        countedSpeedup: L / meanExit,
        fullDepth: classifier.fusedFullDepth ? "fused" : "layer-by-layer",
        measuredSpeedup: single.speedup,
        layerByLayerSpeedup: single.layerByLayerSpeedup,
        fusedOverLayerByLayer: single.fusedOverLayerByLayer,
        fullMs: single.fullMs,
        layerByLayerMs: single.layerByLayerMs,
        earlyMs: single.earlyMs,
        fullAgreesWithLayerByLayer: single.full.every(
          (r, i) => r.labelId === single.layerByLayer[i]!.labelId,
        ),
        exitCounts,
        truncated: single.early.filter((r) => r.truncated).length,
        repeats,
        ...(batched && {
          batch,
          batchedAccuracy: correct(batched.early),
          throughputSpeedup: batched.speedup,
          layerByLayerThroughputSpeedup: batched.layerByLayerSpeedup,
          fusedOverLayerByLayerBatched: batched.fusedOverLayerByLayer,
          fullTextsPerSecond: (1000 * data.length) / batched.fullMs,
          layerByLayerTextsPerSecond: (1000 * data.length) / batched.layerByLayerMs,
          earlyTextsPerSecond: (1000 * data.length) / batched.earlyMs,
        }),
      };
      printReport(io, report, {
        json: values.json === true,
        text: () =>
          textTable(
            [
              "samples",
              "accuracy",
              "full accuracy",
              "mean exit",
              "counted speed-up",
              `measured speed-up (vs ${report.fullDepth} full depth)`,
              "vs layer by layer",
            ],
            [
              [
                report.samples,
                report.accuracy,
                report.fullAccuracy,
                report.meanExitLayer,
                report.countedSpeedup,
                report.measuredSpeedup,
                report.layerByLayerSpeedup,
              ],
            ],
          ) +
          `full ${report.fullMs.toFixed(0)} ms (layer by layer ${report.layerByLayerMs.toFixed(0)} ms), early exit ${report.earlyMs.toFixed(0)} ms (medians of ${repeats}); exits: ${exitCounts.join(" ")}\n` +
          (batched
            ? `batch ${batch}: throughput speed-up ${report.throughputSpeedup!.toFixed(2)}x (${report.layerByLayerThroughputSpeedup!.toFixed(2)}x against layer by layer)\n`
            : ""),
      });
    } finally {
      await classifier.dispose();
    }
  },
};
