// A word-level tokenizer in tokenizer.json format: a WordPiece model whose vocabulary is whole
// words (transformers.js 2.x has no WordLevel model), split on white space and punctuation.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { wordPieceTokenizerJson } from "../common/wordpiece-json.js";

export const SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"] as const;

/** Writes tokenizer.json and tokenizer_config.json; returns the vocabulary size. */
export function buildWordTokenizer(texts: readonly string[], out: string): number {
  const words = new Set<string>();
  for (const t of texts) for (const w of t.split(/\s+/)) if (w !== "") words.add(w);
  const vocab = [...SPECIAL_TOKENS, ...[...words].sort()];
  const tokenizer = wordPieceTokenizerJson({
    vocab,
    specials: SPECIAL_TOKENS,
    unkToken: "<unk>",
    normalizer: { type: "Lowercase" },
    preTokenizer: { type: "Whitespace" },
    postProcessor: null,
    cleanup: false,
  });
  const config = {
    tokenizer_class: "BertTokenizer",
    model_max_length: 64,
    pad_token: "<pad>",
    bos_token: "<bos>",
    eos_token: "<eos>",
    unk_token: "<unk>",
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "tokenizer.json"), JSON.stringify(tokenizer));
  writeFileSync(join(out, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
  return vocab.length;
}
