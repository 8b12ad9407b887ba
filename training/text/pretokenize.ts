// Splits SST-2 train into training and calibration parts and writes token ids
// produced by @xenova/transformers' AutoTokenizer, the tokenizer the runtime uses.
// Usage: tsx pretokenize.ts --train TRAIN.jsonl --dev DEV.jsonl --tokenizer DIR --out DIR
//        [--calibration 3000] [--min-words 8] [--seed 0]
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { AutoTokenizer, env } from "@xenova/transformers";
import { basicTokens, readLabelledJsonl, seededRandom, type LabelledText } from "./data.js";

const { values } = parseArgs({
  options: {
    train: { type: "string" },
    dev: { type: "string" },
    tokenizer: { type: "string" },
    out: { type: "string" },
    calibration: { type: "string", default: "3000" },
    "min-words": { type: "string", default: "8" },
    seed: { type: "string", default: "0" },
    "max-length": { type: "string", default: "64" },
    "num-labels": { type: "string", default: "2" },
  },
});
for (const key of ["train", "dev", "tokenizer", "out"] as const) {
  if (values[key] === undefined) throw new Error(`Missing --${key}`);
}
const numLabels = Number(values["num-labels"]);
if (!Number.isInteger(numLabels) || numLabels < 2)
  throw new Error(
    `Expected --num-labels to be an integer >= 2 but received ${values["num-labels"]}`,
  );
const train = readLabelledJsonl(values.train!, numLabels);
const dev = readLabelledJsonl(values.dev!, numLabels);
const calibrationSize = Number(values.calibration);
const minWords = Number(values["min-words"]);
const maxLength = Number(values["max-length"]);

// Calibration: sentence-like rows (dev holds whole sentences; train mixes in phrase fragments).
const random = seededRandom(Number(values.seed));
const candidates = train.filter((row) => row.text.split(" ").length >= minWords);
for (let i = candidates.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
}
const calibration = candidates.slice(0, calibrationSize);
// SST-2 train holds the phrases of each sentence as rows of their own: drop from training
// every row whose text is a word span of a calibration sentence, so calibration is unseen.
const spans = new Set<string>();
for (const row of calibration) {
  const words = row.text.split(" ");
  for (let a = 0; a < words.length; a++) {
    for (let b = a + 1; b <= words.length; b++) spans.add(words.slice(a, b).join(" "));
  }
}
const training = train.filter((row) => !spans.has(row.text));

env.allowRemoteModels = false;
env.localModelPath = resolve(values.tokenizer!, "..");
const tokenizer = await AutoTokenizer.from_pretrained(resolve(values.tokenizer!).split("/").pop()!);

function encode(rows: readonly LabelledText[], name: string): void {
  let unknown = 0;
  let total = 0;
  let truncated = 0;
  const lines = rows.map((row) => {
    let ids = Array.from(tokenizer.encode(row.text) as number[]);
    if (ids.length > maxLength) {
      ids = [...ids.slice(0, maxLength - 1), ids[ids.length - 1]!];
      truncated++;
    }
    unknown += ids.filter((id) => id === 1).length;
    total += ids.length;
    return JSON.stringify({ id: row.id, label: row.label, ids });
  });
  writeFileSync(join(values.out!, `${name}.jsonl`), lines.join("\n") + "\n");
  console.log(
    `${name}: ${rows.length} rows, ${(total / rows.length).toFixed(1)} ids/row, ` +
      `${((100 * unknown) / total).toFixed(2)}% [UNK], ${truncated} truncated`,
  );
}
mkdirSync(values.out!, { recursive: true });
encode(training, "train");
encode(calibration, "calibration");
encode(dev, "dev");
writeFileSync(
  join(values.out!, "calibration.texts.jsonl"),
  calibration.map((row) => JSON.stringify(row)).join("\n") + "\n",
);
console.log(`basic tokens check: ${basicTokens("Hello, world-wide!").join(" ")}`);
