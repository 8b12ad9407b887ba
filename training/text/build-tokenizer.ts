// Builds a BERT-style WordPiece tokenizer.json from the training texts.
// Usage: tsx build-tokenizer.ts --train TRAIN.jsonl --out DIR [--max-words 7500]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { wordPieceTokenizerJson } from "../common/wordpiece-json.js";
import { basicTokens, readLabelledJsonl } from "./data.js";

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;
const SUFFIXES = [
  "s",
  "es",
  "ed",
  "d",
  "ing",
  "ly",
  "er",
  "ers",
  "est",
  "ness",
  "less",
  "ful",
  "able",
  "ible",
  "ment",
  "ments",
  "ion",
  "ions",
  "y",
  "ies",
  "ish",
  "ity",
  "ive",
  "al",
  "ic",
  "ous",
  "'s",
  "n't",
];

const { values } = parseArgs({
  options: {
    train: { type: "string" },
    out: { type: "string" },
    "max-words": { type: "string", default: "7500" },
    "max-length": { type: "string", default: "64" },
    "num-labels": { type: "string", default: "2" },
  },
});
if (values.train === undefined || values.out === undefined) {
  throw new Error(
    "Usage: build-tokenizer.ts --train TRAIN.jsonl --out DIR [--max-words N] [--num-labels 2]",
  );
}
const maxWords = Number(values["max-words"]);
const rows = readLabelledJsonl(values.train, Number(values["num-labels"]));

const counts = new Map<string, number>();
const chars = new Set<string>();
for (const row of rows) {
  for (const token of basicTokens(row.text)) {
    counts.set(token, (counts.get(token) ?? 0) + 1);
    for (const ch of token) chars.add(ch);
  }
}
const words = [...counts.entries()]
  .filter(([, n]) => n >= 2)
  .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  .slice(0, maxWords)
  .map(([w]) => w);
const sortedChars = [...chars].sort();
const vocab: string[] = [...SPECIALS];
const seen = new Set<string>(vocab);
const add = (token: string): void => {
  if (!seen.has(token)) {
    seen.add(token);
    vocab.push(token);
  }
};
words.forEach(add);
sortedChars.forEach(add);
sortedChars.forEach((ch) => add(`##${ch}`));
SUFFIXES.forEach((s) => add(`##${s}`));

const ids = Object.fromEntries(vocab.map((token, id) => [token, id]));
const tokenizer = wordPieceTokenizerJson({
  vocab,
  specials: SPECIALS,
  unkToken: "[UNK]",
  normalizer: {
    type: "BertNormalizer",
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: null,
    lowercase: true,
  },
  preTokenizer: { type: "BertPreTokenizer" },
  cleanup: true,
  postProcessor: {
    type: "TemplateProcessing",
    single: [
      { SpecialToken: { id: "[CLS]", type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: "[SEP]", type_id: 0 } },
    ],
    pair: [
      { SpecialToken: { id: "[CLS]", type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: "[SEP]", type_id: 0 } },
      { Sequence: { id: "B", type_id: 1 } },
      { SpecialToken: { id: "[SEP]", type_id: 1 } },
    ],
    special_tokens: {
      "[CLS]": { id: "[CLS]", ids: [ids["[CLS]"]], tokens: ["[CLS]"] },
      "[SEP]": { id: "[SEP]", ids: [ids["[SEP]"]], tokens: ["[SEP]"] },
    },
  },
});
const config = {
  tokenizer_class: "BertTokenizer",
  do_lower_case: true,
  model_max_length: Number(values["max-length"]),
  unk_token: "[UNK]",
  sep_token: "[SEP]",
  pad_token: "[PAD]",
  cls_token: "[CLS]",
  mask_token: "[MASK]",
};
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, "tokenizer.json"), JSON.stringify(tokenizer));
writeFileSync(join(values.out, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
console.log(`tokenizer: ${vocab.length} tokens (${words.length} words) -> ${values.out}`);
