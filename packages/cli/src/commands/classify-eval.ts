import { median } from "@beem-ts/core";
import { TextClassifier, readLabelledTexts, type ClassifyOptions } from "@beem-ts/text";
import { numberOption, parse, required } from "../args.js";
import { textTable } from "../format.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultTextModel, policyChoice } from "../models.js";
import { createProgress } from "../progress.js";
import type { Command } from "../command.js";

const usage = `Usage: beem classify-eval --data FILE.jsonl [--rule R --lambda X | --policy FILE] [--batch N] [--repeats 3] [--json]
  Accuracy and speed-up of early exit against full depth on labelled texts, timed side by side
  in one run (medians over repeats; tokenisation included).
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
      const steps = (batch === undefined ? 1 : 2) * (repeats + 1) * 2;
      let done = 0;
      const timed = async (options: ClassifyOptions) => {
        const started = performance.now();
        const results = await classifier.classify(texts, options);
        progress.update(++done, steps);
        return { ms: performance.now() - started, results };
      };
      /** Warm-up, then repeats alternating which mode goes first. */
      const compare = async (batchSize: number) => {
        const early = await timed({ policy, batchSize });
        const full = await timed({ full: true, batchSize });
        const earlyMs: number[] = [];
        const fullMs: number[] = [];
        for (let r = 0; r < repeats; r++) {
          if (r % 2 === 0) {
            fullMs.push((await timed({ full: true, batchSize })).ms);
            earlyMs.push((await timed({ policy, batchSize })).ms);
          } else {
            earlyMs.push((await timed({ policy, batchSize })).ms);
            fullMs.push((await timed({ full: true, batchSize })).ms);
          }
        }
        return {
          early: early.results,
          full: full.results,
          earlyMs: median(earlyMs),
          fullMs: median(fullMs),
        };
      };
      const single = await compare(1);
      const batched = batch === undefined ? undefined : await compare(batch);
      progress.finish();
      const correct = (rs: readonly { labelId: number }[]) =>
        rs.filter((r, i) => r.labelId === data[i]!.label).length / data.length;
      const L = classifier.numExits;
      const meanExitLayer = single.early.reduce((s, r) => s + r.exitLayer, 0) / data.length;
      const exitCounts = new Array<number>(L).fill(0);
      single.early.forEach((r) => exitCounts[r.exitLayer - 1]!++);
      const report = {
        samples: data.length,
        rule: policy.rule,
        lambda: policy.lambda ?? null,
        accuracy: correct(single.early),
        fullAccuracy: correct(single.full),
        meanExitLayer,
        countedSpeedup: L / meanExitLayer,
        measuredSpeedup: single.fullMs / single.earlyMs,
        fullMs: single.fullMs,
        earlyMs: single.earlyMs,
        exitCounts,
        truncated: single.early.filter((r) => r.truncated).length,
        repeats,
        ...(batched && {
          batch,
          batchedAccuracy: correct(batched.early),
          throughputSpeedup: batched.fullMs / batched.earlyMs,
          fullTextsPerSecond: (1000 * data.length) / batched.fullMs,
          earlyTextsPerSecond: (1000 * data.length) / batched.earlyMs,
        }),
      };
      if (values.json === true) {
        io.stdout(JSON.stringify(report) + "\n");
        return;
      }
      io.stdout(
        textTable(
          [
            "samples",
            "accuracy",
            "full accuracy",
            "mean exit",
            "counted speed-up",
            "measured speed-up",
          ],
          [
            [
              report.samples,
              report.accuracy,
              report.fullAccuracy,
              report.meanExitLayer,
              report.countedSpeedup,
              report.measuredSpeedup,
            ],
          ],
        ) +
          `full ${report.fullMs.toFixed(0)} ms, early exit ${report.earlyMs.toFixed(0)} ms (medians of ${repeats}); exits: ${exitCounts.join(" ")}\n` +
          (batched
            ? `batch ${batch}: throughput speed-up ${report.throughputSpeedup!.toFixed(2)}x\n`
            : ""),
      );
    } finally {
      await classifier.dispose();
    }
  },
};
