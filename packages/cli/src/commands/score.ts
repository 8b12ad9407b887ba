import { textTable } from "@beem-ts/bench";
import { checkRegularFile } from "@beem-ts/runtime";
import { scoreCaptionFile } from "@beem-ts/caption";
import { options, parse, required } from "../args.js";
import type { Command } from "../command.js";

const usage = `Usage: beem score --input FILE.json [--json]
  Corpus-level caption scores as pycocoevalcap computes them: BLEU-1..4 ("closest"), ROUGE-L
  and CIDEr-D, on lower-cased tokens without punctuation.
  FILE.json: {"refs": {"id": ["reference", ...]}, "cands": {"id": "caption"}}`;

export const scoreCommand: Command = {
  name: "score",
  summary: "BLEU, ROUGE-L and CIDEr-D of captions against references",
  usage,
  async run(argv, io) {
    const { values } = parse(argv, options("input", "json"), usage);
    const path = required(values.input, "--input", usage);
    checkRegularFile(path);
    const scores = await scoreCaptionFile(path);
    if (values.json === true) return io.stdout(JSON.stringify(scores) + "\n");
    io.stdout(textTable(Object.keys(scores), [Object.values(scores)]));
  },
};
