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
