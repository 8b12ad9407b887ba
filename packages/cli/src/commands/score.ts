import { readFile } from "node:fs/promises";
import { BeemError } from "@beem-ts/core";
import { scoreCaptions, type ScoreInput } from "@beem-ts/caption";
import { parse, required } from "../args.js";
import { checkRegularFile, stripBom } from "../files.js";
import { textTable } from "../format.js";
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
    const { values } = parse(argv, { input: { type: "string" }, json: { type: "boolean" } }, usage);
    const path = required(values.input, "--input", usage);
    let input: unknown;
    try {
      checkRegularFile(path);
      input = JSON.parse(stripBom(await readFile(path, "utf8")));
    } catch (cause) {
      if (cause instanceof BeemError) throw cause;
      throw new BeemError(
        "INVALID_INPUT",
        `${path}: cannot read a JSON object (${(cause as Error).message})`,
        { cause },
      );
    }
    const record = input as Partial<ScoreInput> | null;
    if (
      typeof record !== "object" ||
      record === null ||
      typeof record.refs !== "object" ||
      typeof record.cands !== "object"
    ) {
      throw new BeemError("INVALID_INPUT", `${path}: expected {"refs": {...}, "cands": {...}}`);
    }
    let scores;
    try {
      scores = scoreCaptions(record as ScoreInput);
    } catch (error) {
      if (error instanceof BeemError)
        throw new BeemError(error.code, `${path}: ${error.message}`, { cause: error });
      throw error;
    }
    if (values.json === true) {
      io.stdout(JSON.stringify(scores) + "\n");
      return;
    }
    io.stdout(textTable(Object.keys(scores), [Object.values(scores)]));
  },
};
