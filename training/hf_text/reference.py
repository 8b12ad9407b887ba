"""Two references for a Hugging Face text classifier's output, for the tests: the PyTorch model the
converter builds (text_model.py) and an independent NumPy forward pass written straight from the
state dict's key names (no module classes shared with the converter). Both truncate as Hugging
Face's tokenizer does with truncation=True: [CLS], the first max_length - 2 tokens, [SEP].

Usage: python3 reference.py --hf DIR --ids FILE --max-length N
  FILE: JSON Lines of {"ids": [...]} (untruncated, special tokens included).
  Prints one JSON line per input: {"torch": [probabilities], "numpy": [probabilities]}.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from hf_files import read_json, read_weights  # noqa: E402
from text_io import load_model, read_spec  # noqa: E402


def truncate(ids, max_length):
    if len(ids) <= max_length:
        return ids
    return [ids[0], *ids[1:-1][:max_length - 2], ids[-1]]


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x, kind):
    if kind == "gelu":
        return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
    if kind in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return np.maximum(x, 0.0)


def numpy_logits(w, spec, ids):
    """One unpadded text's logits, float64 throughout."""
    def W(name):
        return w[name].astype(np.float64)

    def linear(x, name):
        return x @ W(name + ".weight").T + W(name + ".bias")

    def mha(x, q, k, v):
        s, d = x.shape
        h, dh = spec.heads, d // spec.heads
        Q, K, V = (linear(x, n).reshape(s, h, dh).transpose(1, 0, 2) for n in (q, k, v))
        scores = Q @ K.transpose(0, 2, 1) / math.sqrt(dh)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        return ((scores / scores.sum(-1, keepdims=True)) @ V).transpose(1, 0, 2).reshape(s, d)

    p = {"bert": "bert.", "albert": "albert.", "distilbert": "distilbert."}[spec.kind]
    e = p + "embeddings."
    x = W(e + "word_embeddings.weight")[ids] + W(e + "position_embeddings.weight")[: len(ids)]
    if spec.kind != "distilbert":
        x = x + W(e + "token_type_embeddings.weight")[0]
    x = layer_norm(x, W(e + "LayerNorm.weight"), W(e + "LayerNorm.bias"), spec.eps)
    if spec.kind == "albert":
        x = linear(x, "albert.encoder.embedding_hidden_mapping_in")
    for i in range(spec.layers):
        # Each kind's names for the same post-LN layer: attention (query, key, value, output),
        # its LayerNorm, the feed-forward in and out, its LayerNorm.
        if spec.kind == "bert":
            b = f"bert.encoder.layer.{i}."
            names = ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                     "output.dense", "output.LayerNorm")
        elif spec.kind == "albert":
            b = f"albert.encoder.albert_layer_groups.{int(i / (spec.layers / spec.groups))}.albert_layers.0."
            names = ("attention.query", "attention.key", "attention.value", "attention.dense",
                     "attention.LayerNorm", "ffn", "ffn_output", "full_layer_layer_norm")
        else:
            b = f"distilbert.transformer.layer.{i}."
            names = ("attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
                     "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm")
        q, k, v, out, ln1, ffn_in, ffn_out, ln2 = (b + n for n in names)
        a = mha(x, q, k, v)
        x = layer_norm(linear(a, out) + x, W(ln1 + ".weight"), W(ln1 + ".bias"), spec.eps)
        f = linear(gelu(linear(x, ffn_in), spec.activation), ffn_out)
        x = layer_norm(f + x, W(ln2 + ".weight"), W(ln2 + ".bias"), spec.eps)
    first = x[0]
    if spec.kind == "distilbert":
        pooled = np.maximum(linear(first, "pre_classifier"), 0.0)
    else:
        pooled = np.tanh(linear(first, "bert.pooler.dense" if spec.kind == "bert" else "albert.pooler"))
    return linear(pooled, "classifier")


def softmax(x):
    x = np.exp(x - x.max())
    return x / x.sum()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hf", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--max-length", type=int, required=True)
    args = p.parse_args()
    path = os.path.join(args.hf, "config.json")
    spec, _ = read_spec(path, read_json(path, "model config"))
    model = load_model(args.hf)[0]
    weights = {k.replace(".gamma", ".weight").replace(".beta", ".bias"): v.float().numpy()
               for k, v in read_weights(args.hf)[1].items()}
    with open(args.ids) as f:
        rows = [truncate(json.loads(line)["ids"], args.max_length) for line in f if line.strip()]
    for ids in rows:
        with torch.no_grad():
            t = torch.tensor([ids])
            x = model.embed(t)
            for i in range(spec.layers):
                x = model.layer(i, x, torch.ones_like(t))
            torch_probs = model.classify(x).softmax(-1)[0].tolist()
        print(json.dumps({"torch": torch_probs, "numpy": softmax(numpy_logits(weights, spec, ids)).tolist()}))


if __name__ == "__main__":
    main()
