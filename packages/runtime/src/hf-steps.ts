// The tokenising steps where transformers.js 2.x differs from Hugging Face's tokenizers library
// (the Rust code that reads tokenizer.json, which the checkpoints were trained with), written
// to the library's own rules; `alignWithHuggingFace` puts them in place of transformers.js'
// on a built tokenizer, step by step, by the `type` each step has in tokenizer.json.
//
// What differs in transformers.js 2.17 (checked on the corpus of training/tokenizers):
// - lower-casing is `toLowerCase()` on the whole text, which applies Unicode's final-sigma rule
//   ("ΣΟΦΟΣ" -> "σοφος"); the library lower-cases one character at a time ("σοφοσ");
// - accents: only U+0300-U+036F are dropped, and after lower-casing; the library drops every
//   nonspacing mark (Mn: Hebrew points, Devanagari signs, variation selectors...), before it;
// - clean_text: unassigned characters (Cn: U+0378, noncharacters such as U+FDD0) are kept;
// - CJK: characters outside the Basic Multilingual Plane are not spaced, and the library's
//   third-plane range starts at U+2B920 (transformers.js: U+2B820);
// - white space (BERT's pre-tokeniser, GPT-2's pattern): JavaScript's `\s` takes U+FEFF and not
//   U+0085; the library and OpenAI's encoder.py use Unicode's White_Space property.

const WHITE_SPACE = /\p{White_Space}/u;
const OTHER = /\p{C}/u; // Cc, Cf, Cs, Co, Cn: the library's `is_other`
const NONSPACING_MARKS = /\p{Mn}/gu;
const CJK: readonly (readonly [number, number])[] = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b920, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
];
const PUNCTUATION = "\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E";

/** GPT-2's pre-tokenising pattern (encoder.py) with Unicode's White_Space for `\s`. */
export const BYTE_LEVEL_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
/** BERT's pre-tokeniser: runs without white space or punctuation, and each punctuation mark. */
const BERT_PRE_TOKENIZER = new RegExp(`[^\\p{White_Space}${PUNCTUATION}]+|[${PUNCTUATION}]`, "gu");

/** Lower case one code point at a time, as the library does: no final-sigma rule. */
export function lowercasePerCodePoint(text: string): string {
  let out = "";
  for (const c of text) out += c.toLowerCase();
  return out;
}

/** The library's StripAccents: every nonspacing mark (Mn) dropped. */
export function dropNonspacingMarks(text: string): string {
  return text.replace(NONSPACING_MARKS, "");
}

export interface BertNormalizerConfig {
  readonly clean_text?: boolean;
  readonly handle_chinese_chars?: boolean;
  readonly strip_accents?: boolean | null;
  readonly lowercase?: boolean;
}

/** The library's BertNormalizer: clean, space CJK, strip accents, lower case, in that order. */
export function bertNormalize(text: string, config: BertNormalizerConfig): string {
  let out = text;
  if (config.clean_text === true) {
    let cleaned = "";
    for (const c of out) {
      const keep = c === "\t" || c === "\n" || c === "\r" || !(c === "\ufffd" || OTHER.test(c));
      if (keep) cleaned += c === "\t" || c === "\n" || c === "\r" || WHITE_SPACE.test(c) ? " " : c;
    }
    out = cleaned;
  }
  if (config.handle_chinese_chars === true) {
    let spaced = "";
    for (const c of out) {
      const cp = c.codePointAt(0)!;
      spaced += CJK.some(([a, b]) => cp >= a && cp <= b) ? ` ${c} ` : c;
    }
    out = spaced;
  }
  const lowercase = config.lowercase === true;
  if (config.strip_accents ?? lowercase) out = dropNonspacingMarks(out.normalize("NFD"));
  if (lowercase) out = lowercasePerCodePoint(out);
  return out;
}

/** A transformers.js normaliser or pre-tokeniser, as far as the steps here reach into it. */
interface Step {
  config?: { readonly type?: string; readonly use_regex?: boolean } & BertNormalizerConfig;
  normalize?: (text: string) => string;
  normalizers?: Step[];
  tokenizers?: Step[];
  pattern?: RegExp;
  use_regex?: boolean;
  pre_tokenize_text?: (text: string) => string[];
}

function alignNormalizer(step: Step | null | undefined): void {
  if (step == null) return;
  const config = step.config ?? {};
  switch (config.type) {
    case "BertNormalizer":
      step.normalize = (text) => bertNormalize(text, config);
      break;
    case "Lowercase":
      step.normalize = lowercasePerCodePoint;
      break;
    case "StripAccents":
      step.normalize = dropNonspacingMarks;
      break;
    case "Sequence":
      step.normalizers?.forEach(alignNormalizer);
      break;
  }
}

function alignPreTokenizer(step: Step | null | undefined, type: string | undefined): void {
  if (step == null) return;
  if (type === "ByteLevel" && step.use_regex !== false) {
    step.pattern = BYTE_LEVEL_PATTERN;
  } else if (type === "BertPreTokenizer") {
    step.pre_tokenize_text = (text) => text.match(BERT_PRE_TOKENIZER) ?? [];
  }
}

interface PreTokenizerJson {
  readonly type?: string;
  readonly pretokenizers?: readonly PreTokenizerJson[];
}

/**
 * Puts the library's rules in place of transformers.js' on `tokenizer`'s normaliser and
 * pre-tokeniser (`json` is its tokenizer.json, which names each step's type). Steps of other
 * types are left as transformers.js builds them. Returns the tokenizer.
 */
export function alignWithHuggingFace<T>(tokenizer: T, json: unknown): T {
  const t = tokenizer as { normalizer?: Step | null; pre_tokenizer?: Step | null };
  alignNormalizer(t.normalizer);
  const pre = (json as { pre_tokenizer?: PreTokenizerJson | null }).pre_tokenizer;
  if (pre?.type === "Sequence") {
    pre.pretokenizers?.forEach((p, i) =>
      alignPreTokenizer(t.pre_tokenizer?.tokenizers?.[i], p.type),
    );
  } else {
    alignPreTokenizer(t.pre_tokenizer, pre?.type);
  }
  return tokenizer;
}
