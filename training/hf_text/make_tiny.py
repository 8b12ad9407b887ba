"""Writes a small random BERT, ALBERT or DistilBERT sequence classifier in exactly Hugging Face's
layout: config.json with the fields `save_pretrained` writes for the kind, the weights under
their own key names (model.safetensors, or pytorch_model.bin with --bin, which also carries the
`position_ids` buffer older versions saved), a WordPiece tokenizer.json (BERT's normaliser,
pre-tokeniser and [CLS] ... [SEP] template; or with --unigram a SentencePiece Unigram one, as
ALBERT ships) and tokenizer_config.json. For tests and timing: the
weights are random, the labels meaningless.

Usage: python3 make_tiny.py --kind bert|albert|distilbert --out DIR [--layers 4] [--hidden 32]
       [--heads 4] [--ffn 64] [--positions 32] [--embedding 16] [--groups 1] [--labels 2]
       [--vocab-size N] [--bin] [--unigram] [--tokenizer DIR] [--seed 0] [--scale 0.2]
  --tokenizer DIR: the tokenizer.json and tokenizer_config.json of DIR (a real vocabulary, as
  training/tokenizers/real_vocab.py writes them) instead of a made-up one; the embeddings have
  one row per token of it.
"""
import argparse
import json
import os
import string
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from hf_files import write_safetensors  # noqa: E402
from text_model import KINDS, Spec, build  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("the a film movie is was not very good bad great awful story plot actors acting funny "
         "boring it and of to but with this that one best worst love hate fun dull moving").split()


def vocabulary(size):
    """Specials, characters, continuation characters, WORDS, then made-up words up to `size`."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = list(dict.fromkeys(SPECIALS + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS))
    n = 0
    while len(vocab) < size:
        word, k = "", n
        while True:  # base-26 names: aa, ab, ..., distinct from WORDS by a "q" prefix
            word = string.ascii_lowercase[k % 26] + word
            k //= 26
            if k == 0:
                break
        vocab.append("q" + word)
        n += 1
    return vocab


def special_tokens_json(specials, ids):
    """tokenizer.json's added_tokens, and the [CLS] ... [SEP] post-processor BERT and ALBERT ship."""
    def special(t):
        return {"id": t, "ids": [ids[t]], "tokens": [t]}

    def token(t, type_id=0):
        return {"SpecialToken": {"id": t, "type_id": type_id}}

    added = [{"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t in specials]
    post = {
        "type": "TemplateProcessing",
        "single": [token("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, token("[SEP]")],
        "pair": [token("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, token("[SEP]"),
                 {"Sequence": {"id": "B", "type_id": 1}}, token("[SEP]", 1)],
        "special_tokens": {"[CLS]": special("[CLS]"), "[SEP]": special("[SEP]")},
    }
    return added, post


def wordpiece_json(vocab):
    ids = {t: i for i, t in enumerate(vocab)}
    added, post = special_tokens_json(SPECIALS, ids)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": post,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


UNIGRAM_SPECIALS = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
SPACE = "\u2581"  # SentencePiece's mark of a word's start


def unigram_json(size):
    """A SentencePiece Unigram tokenizer.json as ALBERT's: lower case, Metaspace, [CLS] ... [SEP];
    pieces for WORDS, single characters, then made-up words up to `size`."""
    pieces = list(dict.fromkeys(UNIGRAM_SPECIALS + [SPACE] + [SPACE + w for w in WORDS]
                                + list(string.ascii_lowercase + string.digits + string.punctuation)))
    n = 0
    while len(pieces) < size:
        pieces.append(f"{SPACE}q{n}")
        n += 1
    vocab = [[p, 0.0 if p in UNIGRAM_SPECIALS else -1.0 - 0.01 * i] for i, p in enumerate(pieces)]
    added, post = special_tokens_json(UNIGRAM_SPECIALS, {p: i for i, p in enumerate(pieces)})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "StripAccents"},
                                                           {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": SPACE, "add_prefix_space": True},
        "post_processor": post,
        "decoder": {"type": "Metaspace", "replacement": SPACE, "add_prefix_space": True},
        "model": {"type": "Unigram", "unk_id": 1, "vocab": vocab},
    }, len(pieces)


def config_json(spec, labels):
    id2label = {str(i): name for i, name in enumerate(labels)}
    common = {"architectures": [KINDS[spec.kind]], "id2label": id2label,
              "label2id": {name: i for i, name in enumerate(labels)}, "initializer_range": 0.02,
              "max_position_embeddings": spec.positions, "model_type": spec.kind, "pad_token_id": 0,
              "problem_type": "single_label_classification", "torch_dtype": "float32",
              "transformers_version": "4.46.3", "vocab_size": spec.vocab}
    if spec.kind == "distilbert":
        return {"activation": spec.activation, "attention_dropout": 0.1, "dim": spec.hidden, "dropout": 0.1,
                "hidden_dim": spec.ffn, "n_heads": spec.heads, "n_layers": spec.layers, "qa_dropout": 0.1,
                "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": False, "tie_weights_": True, **common}
    cfg = {"attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "hidden_act": spec.activation,
           "hidden_dropout_prob": 0.1, "hidden_size": spec.hidden, "intermediate_size": spec.ffn,
           "layer_norm_eps": spec.eps, "num_attention_heads": spec.heads, "num_hidden_layers": spec.layers,
           "position_embedding_type": "absolute", "type_vocab_size": spec.type_vocab, **common}
    if spec.kind == "bert":
        cfg["use_cache"] = True
    else:
        cfg.update({"bos_token_id": 2, "eos_token_id": 3, "classifier_dropout_prob": 0.1, "embedding_size": spec.embedding,
                    "inner_group_num": 1, "num_hidden_groups": spec.groups})
        cfg["attention_probs_dropout_prob"] = cfg["hidden_dropout_prob"] = 0
    return dict(sorted(cfg.items()))


TOKENIZER_CLASS = {"bert": "BertTokenizer", "albert": "AlbertTokenizer", "distilbert": "DistilBertTokenizer"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=list(KINDS), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=64)
    p.add_argument("--positions", type=int, default=32)
    p.add_argument("--embedding", type=int, default=16, help="ALBERT's embedding width")
    p.add_argument("--groups", type=int, default=1, help="ALBERT's layer groups")
    p.add_argument("--labels", type=int, default=2)
    p.add_argument("--vocab-size", type=int, default=None, help="default: the tokenizer's size")
    p.add_argument("--bin", action="store_true", help="pytorch_model.bin instead of model.safetensors")
    p.add_argument("--unigram", action="store_true",
                   help="a SentencePiece Unigram tokenizer.json, as ALBERT ships, instead of WordPiece")
    p.add_argument("--tokenizer", default=None,
                   help="a folder whose tokenizer.json and tokenizer_config.json to ship instead")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", type=float, default=0.2, help="standard deviation of the random weights")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    if args.tokenizer:
        with open(os.path.join(args.tokenizer, "tokenizer.json"), encoding="utf-8") as f:
            tokenizer = json.load(f)
        n_tokens = len(tokenizer["model"]["vocab"])
    elif args.unigram:
        tokenizer, n_tokens = unigram_json(args.vocab_size or 0)
    else:
        vocab = vocabulary(args.vocab_size or 0)
        tokenizer, n_tokens = wordpiece_json(vocab), len(vocab)
    size = args.vocab_size or n_tokens
    if size < n_tokens:
        sys.exit(f"--vocab-size {size}: the tokenizer alone has {n_tokens} tokens")
    activation = {"bert": "gelu", "albert": "gelu_new", "distilbert": "gelu"}[args.kind]
    spec = Spec(kind=args.kind, vocab=size, hidden=args.hidden,
                embedding=args.embedding if args.kind == "albert" else args.hidden, layers=args.layers,
                heads=args.heads, ffn=args.ffn, positions=args.positions,
                type_vocab=0 if args.kind == "distilbert" else 2, activation=activation, eps=1e-12,
                labels=args.labels, groups=args.groups if args.kind == "albert" else 1)
    model = build(spec)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if "LayerNorm" in name or "layer_norm" in name:
                t.copy_(1.0 + 0.1 * torch.randn_like(t) if name.endswith("weight") else 0.1 * torch.randn_like(t))
            else:
                t.copy_(args.scale * torch.randn_like(t))
    os.makedirs(args.out, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if args.bin:
        prefix = {"bert": "bert", "albert": "albert", "distilbert": "distilbert"}[args.kind]
        state[f"{prefix}.embeddings.position_ids"] = torch.arange(spec.positions).unsqueeze(0)
        torch.save(state, os.path.join(args.out, "pytorch_model.bin"))
    else:
        write_safetensors(os.path.join(args.out, "model.safetensors"), state)
    labels = ["NEGATIVE", "POSITIVE"] if args.labels == 2 else [f"LABEL_{i}" for i in range(args.labels)]
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config_json(spec, labels), f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    if args.tokenizer:
        with open(os.path.join(args.tokenizer, "tokenizer_config.json"), encoding="utf-8") as f:
            tconfig = json.load(f)
    elif args.unigram:
        tconfig = {"cls_token": "[CLS]", "do_lower_case": True, "keep_accents": False, "mask_token": "[MASK]",
                   "model_max_length": spec.positions, "pad_token": "<pad>", "remove_space": True,
                   "sep_token": "[SEP]", "tokenizer_class": TOKENIZER_CLASS[args.kind], "unk_token": "<unk>"}
    else:
        tconfig = {"cls_token": "[CLS]", "do_lower_case": True, "mask_token": "[MASK]",
                   "model_max_length": spec.positions, "pad_token": "[PAD]", "sep_token": "[SEP]",
                   "strip_accents": None, "tokenize_chinese_chars": True,
                   "tokenizer_class": TOKENIZER_CLASS[args.kind], "unk_token": "[UNK]"}
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(tconfig, f, indent=2)
    print(f"{args.out}: random {KINDS[args.kind]}, {spec.layers} layers of {spec.hidden}, {size} tokens")


if __name__ == "__main__":
    main()
