// The runtime's tokenisation on real vocabularies (GPT-2's byte-level BPE, uncased BERT
// WordPiece) against the reference tokenisers (OpenAI's encoder.py logic, Hugging Face's
// tokenizers library's rules), over the corpus of strings that break tokenisers
// (training/tokenizers): the same ids for every string, and per-token texts of byte-level BPE
// that join back to the reference's decoding.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadTokenizer,
  textsOfTokens,
  tokenTexts,
  type PreTrainedTokenizer,
} from "../src/index.js";
import {
  VOCABULARIES,
  hasReferencePython,
  parseLines,
  readJsonLines,
  runScript,
  type CorpusRow,
} from "./reference-tokenizers.js";

const FILES = { file: "tokenizer.json", config: "tokenizer_config.json" };

interface Mismatch {
  readonly kind: string;
  readonly text: string;
  readonly ids: readonly number[];
  readonly reference: readonly number[];
}

/** The corpus strings where `tokenizer` and the reference disagree. */
function mismatches(
  tokenizer: PreTrainedTokenizer,
  corpus: readonly CorpusRow[],
  reference: readonly { ids: number[] }[],
): Mismatch[] {
  return corpus.flatMap((row, i) => {
    const ids = tokenizer.encode(row.text);
    const expected = reference[i]!.ids;
    const same = ids.length === expected.length && ids.every((id, k) => id === expected[k]);
    return same ? [] : [{ kind: row.kind, text: row.text, ids, reference: expected }];
  });
}

describe.runIf(hasReferencePython())("tokenisation on real vocabularies", () => {
  const work = mkdtempSync(join(tmpdir(), "beem-real-vocab-"));
  const corpusFile = join(work, "corpus.jsonl");
  const gpt2Dir = join(work, "gpt2");
  const bertDir = join(work, "bert");
  let corpus: CorpusRow[];
  let gpt2Reference: { ids: number[]; decoded: string }[];
  let bertReference: { ids: number[] }[];

  beforeAll(() => {
    runScript("corpus.py", ["--out", corpusFile]);
    corpus = readJsonLines<CorpusRow>(corpusFile);
    runScript("real_vocab.py", ["--gpt2", VOCABULARIES.gpt2, "--out", gpt2Dir]);
    runScript("real_vocab.py", ["--bert-vocab-json", VOCABULARIES.bertJson, "--out", bertDir]);
    gpt2Reference = parseLines(
      runScript("gpt2_reference.py", [
        "--encoder",
        join(gpt2Dir, "encoder.json"),
        "--bpe",
        join(gpt2Dir, "vocab.bpe"),
        "--texts",
        corpusFile,
      ]),
    );
    bertReference = parseLines(
      runScript("wordpiece_reference.py", [
        "--vocab",
        join(bertDir, "vocab.txt"),
        "--texts",
        corpusFile,
      ]),
    );
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("the corpus: at least 2,000 distinct strings of every kind the issue names", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(2000);
    expect(new Set(corpus.map((r) => r.text)).size).toBe(corpus.length);
    const kinds = new Set(corpus.map((r) => r.kind));
    for (const kind of ["english", "accents", "greek", "turkish", "cjk", "emoji", "control"])
      expect(kinds).toContain(kind);
    for (const kind of ["spaces", "mixed", "long", "punctuation", "random"])
      expect(kinds).toContain(kind);
    const texts = corpus.map((r) => r.text);
    expect(texts).toContain("ΣΟΦΟΣ");
    expect(texts.some((t) => t.includes("İ"))).toBe(true);
    expect(texts.some((t) => t.includes("\u200d"))).toBe(true); // ZWJ sequences
    expect(texts.some((t) => [...t].length > 100 && !t.includes(" "))).toBe(true);
    expect(texts.some((t) => t !== t.trim())).toBe(true);
    expect(gpt2Reference).toHaveLength(corpus.length);
    expect(bertReference).toHaveLength(corpus.length);
  });

  it("GPT-2 byte-level BPE: encoder.py's ids for every string", async () => {
    const tokenizer = await loadTokenizer(gpt2Dir, FILES);
    expect(mismatches(tokenizer, corpus, gpt2Reference)).toEqual([]);
  });

  it("uncased BERT WordPiece: Hugging Face's ids for every string", async () => {
    const tokenizer = await loadTokenizer(bertDir, FILES);
    expect(mismatches(tokenizer, corpus, bertReference)).toEqual([]);
    // The cases the fix is for, by name: no final sigma, every nonspacing mark stripped.
    const pieces = (text: string) =>
      tokenizer
        .encode(text, null, { add_special_tokens: false })
        .map((id) => tokenizer.model.vocab[id]);
    expect(pieces("ΣΟΦΟΣ").at(-1)).toBe("##σ");
    expect(pieces("İstanbul")).toEqual(pieces("istanbul"));
    expect(pieces("o\u05b0\u0e48")).toEqual(["o"]);
  });

  it("GPT-2: per-token texts join back to encoder.py's decoding, also mid-character", async () => {
    const tokenizer = await loadTokenizer(gpt2Dir, FILES);
    let split = 0;
    let naive = 0;
    corpus.forEach((row, i) => {
      const { ids, decoded } = gpt2Reference[i]!;
      expect(decoded).toBe(row.text);
      const texts = textsOfTokens(tokenizer, ids);
      expect(texts.join(""), JSON.stringify(row.text)).toBe(decoded);
      if (texts.includes("")) split++; // a token that ends inside a character
      if (ids.map((id) => tokenizer.decode([id])).join("") !== decoded) naive++;
    });
    // Characters split across tokens are common in the corpus; decoding tokens one at a time
    // (U+FFFD for each half, clean-up of " ." and " 's") does not join back.
    expect(split).toBeGreaterThan(100);
    expect(naive).toBeGreaterThan(split);
  });

  it("GPT-2: an incomplete character at the end is U+FFFD, as encoder.py's errors='replace'", async () => {
    const tokenizer = await loadTokenizer(gpt2Dir, FILES);
    const i = corpus.findIndex((r) => r.text === "👨‍👩‍👧‍👦");
    const ids = gpt2Reference[i]!.ids;
    const texts = tokenTexts(tokenizer);
    expect(texts.next(ids[0]!)).toBe(""); // the first token holds part of 👨's four bytes
    expect(texts.end()).toBe("\ufffd");
    expect(textsOfTokens(tokenizer, ids.slice(0, 1))).toEqual(["\ufffd"]);
    expect(tokenizer.decode(ids.slice(0, 1))).toBe("\ufffd");
  });
});
