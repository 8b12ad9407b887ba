import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AutoTokenizer } from "@xenova/transformers";
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../src/index.js";
import { bundleDir, TOKENIZER_SOURCE } from "./fixture.js";

const FILES = { file: "tokenizer.json", config: "tokenizer_config.json" };

/** A byte-level BPE tokenizer.json as GPT-2's is laid out, over a few words. */
function byteLevelBpe(): string {
  const vocab: Record<string, number> = {};
  const letters = "abcdefghijklmnopqrstuvwxyzĠ".split("");
  letters.forEach((c, i) => (vocab[c] = i));
  const merges = ["Ġ a", "c a", "ca t", "Ġ cat", "Ġ d", "o g", "Ġd og"];
  for (const m of merges) vocab[m.replace(" ", "")] = Object.keys(vocab).length;
  vocab["<|endoftext|>"] = Object.keys(vocab).length;
  return JSON.stringify({
    version: "1.0",
    added_tokens: [{ id: vocab["<|endoftext|>"], content: "<|endoftext|>", special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true },
    model: { type: "BPE", vocab, merges, dropout: null, unk_token: null },
  });
}

/** A SentencePiece Unigram tokenizer.json as ALBERT's, its normaliser a Sequence. */
function unigram(pieces: readonly string[]): string {
  const specials = ["<pad>", "<unk>", "[CLS]", "[SEP]"];
  const all = [...specials, ...pieces];
  return JSON.stringify({
    version: "1.0",
    added_tokens: specials.map((content, id) => ({ id, content, special: true })),
    normalizer: {
      type: "Sequence",
      normalizers: [{ type: "NFKD" }, { type: "StripAccents" }, { type: "Lowercase" }],
    },
    pre_tokenizer: { type: "Metaspace", replacement: "\u2581", add_prefix_space: true },
    post_processor: null,
    decoder: { type: "Metaspace", replacement: "\u2581", add_prefix_space: true },
    model: { type: "Unigram", unk_id: 1, vocab: all.map((p, i) => [p, i < 4 ? 0 : -1 - i / 100]) },
  });
}

describe("loadTokenizer", () => {
  it("builds the class tokenizer_config.json names, as AutoTokenizer does", async () => {
    const tokenizer = await loadTokenizer(bundleDir(), FILES);
    const config = JSON.parse(readFileSync(join(TOKENIZER_SOURCE, FILES.config), "utf8"));
    const json = JSON.parse(readFileSync(join(TOKENIZER_SOURCE, FILES.file), "utf8"));
    const Reference = AutoTokenizer.TOKENIZER_CLASS_MAPPING.BertTokenizer;
    expect(config.tokenizer_class).toBe("BertTokenizer");
    expect(tokenizer).toBeInstanceOf(Reference);
    const text = "a gripping, beautifully shot film";
    expect(tokenizer.encode(text)).toEqual(new Reference(json, config).encode(text));
  });

  it("drops a Fast suffix and decodes byte-level BPE with its spaces", async () => {
    const dir = bundleDir({
      "tokenizer.json": byteLevelBpe(),
      "tokenizer_config.json": JSON.stringify({ tokenizer_class: "GPT2TokenizerFast" }),
    });
    const tokenizer = await loadTokenizer(dir, FILES);
    expect(tokenizer).toBeInstanceOf(AutoTokenizer.TOKENIZER_CLASS_MAPPING.GPT2Tokenizer);
    const ids = tokenizer.encode("a cat dog");
    expect(ids.map((id) => tokenizer.model.vocab[id])).toEqual(["a", "Ġcat", "Ġdog"]);
    expect(tokenizer.decode(ids)).toBe("a cat dog");
  });

  it("lower-cases per code point and strips every nonspacing mark inside a normaliser Sequence", async () => {
    // Hugging Face's Lowercase has no final-sigma rule ("σοφοσ"), its StripAccents drops every
    // Mn mark (Hebrew point U+05B0 too); transformers.js' own give "σοφος" and keep U+05B0.
    const pieces = ["\u2581σοφοσ", "\u2581σοφος", "\u2581ab", "\u2581a\u05b0b", "\u2581a", "b"];
    const dir = bundleDir({
      "tokenizer.json": unigram(pieces),
      "tokenizer_config.json": JSON.stringify({ tokenizer_class: "AlbertTokenizer" }),
    });
    const tokenizer = await loadTokenizer(dir, FILES);
    const tokens = (text: string) =>
      tokenizer
        .encode(text, null, { add_special_tokens: false })
        .map((id) => tokenizer.model.vocab[id]);
    expect(tokens("ΣΟΦΟΣ")).toEqual(["\u2581σοφοσ"]);
    expect(tokens("a\u05b0b")).toEqual(["\u2581ab"]);
    expect(tokens("ΣΟΦΟΣ AB")).toEqual(["\u2581σοφοσ", "\u2581ab"]);
  });

  it("refuses a class transformers.js does not know, naming the field", async () => {
    const dir = bundleDir({
      "tokenizer_config.json": JSON.stringify({ tokenizer_class: "MadeUpTokenizer" }),
    });
    await expect(loadTokenizer(dir, FILES)).rejects.toMatchObject({
      code: "INVALID_BUNDLE",
      message: expect.stringMatching(
        /tokenizer_config\.json: field "tokenizer_class" "MadeUpTokenizer"/,
      ),
    });
  });

  it("refuses an unreadable tokenizer.json, naming it", async () => {
    const dir = bundleDir({ "tokenizer.json": "{" });
    await expect(loadTokenizer(dir, FILES)).rejects.toThrow(
      /tokenizer\.json: cannot read the tokenizer/,
    );
  });
});
