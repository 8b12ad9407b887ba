import { writeFileAtomic } from "@beem-ts/jobs";
import { formatExitLogLine } from "@beem-ts/core";
import { TextClassifier, readLabelledTexts } from "@beem-ts/text";
import { options, parse, required } from "../args.js";
import { defaultTextModel } from "../models.js";
import { createProgress } from "../progress.js";
import type { Command } from "../command.js";

const usage = `Usage: beem classify-log --data FILE.jsonl --out EXITS.jsonl [--model DIR]
  Runs every layer on labelled texts ({"text", "label"} per line) and writes each exit's
  probabilities as an exit log, ready for "beem calibrate" / "beem sweep".`;

export const classifyLogCommand: Command = {
  name: "classify-log",
  summary: "log every exit's output of the text model on labelled data",
  usage,
  async run(argv, io) {
    const { values } = parse(argv, options("data out model"), usage);
    const out = required(values.out, "--out", usage);
    const classifier = await TextClassifier.load(values.model ?? defaultTextModel());
    try {
      const data = await readLabelledTexts(
        required(values.data, "--data", usage),
        classifier.labels.length,
      );
      const progress = createProgress("exits");
      const samples = await classifier.exitOutputs(data, {
        onProgress: (d, t) => progress.update(d, t),
      });
      progress.finish();
      await writeFileAtomic(out, samples.map((s) => formatExitLogLine(s)).join("\n") + "\n");
      io.stderr(`${samples.length} samples x ${classifier.numExits} exits -> ${out}\n`);
    } finally {
      await classifier.dispose();
    }
  },
};
