// The photo captioner's word-level tokenizer: the `vocabSize` - 4 most frequent of the words
// pycocoevalcap scores (`metricTokens`: lower case, punctuation dropped, clitics split), after
// four special tokens (a vocabulary of a multiple of 256 keeps the exit heads' products fast). The bundle only decodes with it: the decoder's clean-up joins clitics back ("dog 's" ->
// "dog's").
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { wordPieceTokenizerJson } from "../common/wordpiece-json.js";

export const SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"] as const;

/** Writes tokenizer.json and tokenizer_config.json to `out`; returns the vocabulary. */
export function buildPhotoTokenizer(
  captions: readonly (readonly string[])[],
  out: string,
  options: { readonly vocabSize: number },
): string[] {
  const counts = new Map<string, number>();
  for (const words of captions) for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts]
    .filter(([w]) => !(SPECIAL_TOKENS as readonly string[]).includes(w))
    .sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, options.vocabSize - SPECIAL_TOKENS.length)
    .map(([w]) => w);
  const vocab = [...SPECIAL_TOKENS, ...words];
  const tokenizer = wordPieceTokenizerJson({
    vocab,
    specials: SPECIAL_TOKENS,
    unkToken: "<unk>",
    normalizer: { type: "Lowercase" },
    preTokenizer: { type: "WhitespaceSplit" },
    postProcessor: null,
    cleanup: true,
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
  return vocab;
}
