import { TextClassifier, readLabelledTexts } from "@beem-ts/text";
import { classifierEvalSummary, evaluateClassifier } from "@beem-ts/bench";
import { options, numberOption, parse, required } from "../args.js";
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
        ...options("data batch repeats model", "json"),
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
      const progress = createProgress("timing");
      const report = await evaluateClassifier(classifier, data, {
        policy: choice,
        batch,
        repeats,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.finish();
      io.stdout(
        values.json === true ? JSON.stringify(report) + "\n" : classifierEvalSummary(report),
      );
    } finally {
      await classifier.dispose();
    }
  },
};
