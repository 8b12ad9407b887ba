import { writeFileAtomic } from "@beem-ts/jobs";
import { formatExitLogLine, generateSyntheticExits } from "@beem-ts/core";
import { numberOption, options, parse, required } from "../args.js";
import type { Command } from "../command.js";

const usage = `Usage: beem synth --out FILE.jsonl [--samples 5000] [--exits 12] [--classes 2] [--seed 0]
  Writes a synthetic labelled exit log (deeper exits more accurate, neighbours correlated).`;

export const synthCommand: Command = {
  name: "synth",
  summary: "write a synthetic multi-exit log to try the other commands on",
  usage,
  async run(argv, io) {
    const { values } = parse(argv, options("out samples exits classes seed"), usage);
    const out = required(values.out, "--out", usage);
    const samples = generateSyntheticExits({
      samples: numberOption(values.samples, "--samples", 5000, 1),
      exits: numberOption(values.exits, "--exits", 12, 1),
      classes: numberOption(values.classes, "--classes", 2, 2),
      seed: numberOption(values.seed, "--seed", 0, 0),
    });
    await writeFileAtomic(out, samples.map((s) => formatExitLogLine(s)).join("\n") + "\n");
    io.stderr(`${samples.length} samples -> ${out}\n`);
  },
};
