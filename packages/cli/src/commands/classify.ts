import { textTable } from "@beem-ts/bench";
import { TextClassifier } from "@beem-ts/text";
import { options, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultTextModel, policyChoice } from "../models.js";
import type { Command } from "../command.js";

const usage = `Usage: beem classify "TEXT" ["TEXT" ...] [--json] [--trace] [--rule R --lambda X | --policy FILE | --full] [--model DIR]
  Classifies texts with early exit; prints label, confidence and exit layer.
  --json          one JSON array
  --trace         every computed exit's prediction, confidence and score (with --json)
${POLICY_USAGE}
  --model DIR     a text bundle (default: models/sst2-beem)`;

export const classifyCommand: Command = {
  name: "classify",
  summary: "classify texts with the text model, stopping early",
  usage,
  async run(argv, io) {
    const { values, positionals } = parse(
      argv,
      { ...POLICY_OPTIONS, ...options("model", "json trace") },
      usage,
    );
    if (positionals.length === 0) throw new UsageError(`Give at least one text\n${usage}`);
    const choice = await policyChoice(values);
    const classifier = await TextClassifier.load(values.model ?? defaultTextModel());
    try {
      const started = performance.now();
      const results = await classifier.classify(positionals, {
        ...choice,
        trace: values.trace === true,
      });
      const ms = performance.now() - started;
      if (values.json === true) {
        io.stdout(JSON.stringify(results.map((r, i) => ({ text: positionals[i], ...r }))) + "\n");
        return;
      }
      io.stdout(
        textTable(
          ["label", "confidence", "exit", "text"],
          results.map((r, i) => [
            r.label,
            r.confidence,
            `${r.exitLayer}/${classifier.numExits}`,
            positionals[i]!,
          ]),
        ) + `${results.length} text(s) in ${ms.toFixed(1)} ms\n`,
      );
    } finally {
      await classifier.dispose();
    }
  },
};
