// A Hugging Face tokenizer.json with a WordPiece model, as transformers.js loads it.

export interface WordPieceJsonOptions {
  /** Every token, id = position; the special tokens among them. */
  readonly vocab: readonly string[];
  readonly specials: readonly string[];
  readonly unkToken: string;
  readonly normalizer: unknown;
  readonly preTokenizer: unknown;
  readonly postProcessor: unknown;
  /** WordPiece decoder clean-up of spaces before punctuation. */
  readonly cleanup: boolean;
}

export function wordPieceTokenizerJson(o: WordPieceJsonOptions) {
  const ids: Record<string, number> = Object.fromEntries(o.vocab.map((token, id) => [token, id]));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: o.specials.map((content) => ({
      id: ids[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: o.normalizer,
    pre_tokenizer: o.preTokenizer,
    post_processor: o.postProcessor,
    decoder: { type: "WordPiece", prefix: "##", cleanup: o.cleanup },
    model: {
      type: "WordPiece",
      unk_token: o.unkToken,
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: ids,
    },
  };
}
