"""Diagnostic: what does filling a skipped layer's keys/values from the exit's hidden state cost
by itself? Greedy decoding of the dev photos in PyTorch where every token exits at the first
layer whose head already gives full depth's token (an oracle: no wrong exit is ever taken; full
depth is computed at every step only to know that token), against plain full-depth decoding.
Every token is the one full depth gives with the same cache, so captions can differ only through
the keys/values of the layers a token skipped:

- `copy` (what the runtime does, as CALM): the exit's hidden state copied upwards, each skipped
  layer's keys/values computed from it;
- `linear`: for each (exit layer, skipped layer) pair, the skipped layer's input predicted from
  the exit's hidden state, h + [h, 1] W (least squares, reduced to --rank if given), fitted on the
  model's own full-depth captions of the training photos (teacher-forced, every cached variant);
  the layer right above the exit already has its exact input, the exit's output;
- `single`: one such prediction per exit layer for all the layers above it (fitted to the mean of
  their inputs), as a runtime that stores one vector per skipped position would need.

--min-layer K lets the oracle exit only at layer K or above (the depth a real policy works at).
Prints dev CIDEr-D of both, the oracle's mean exit layer and how many captions came out unchanged.

Usage: /usr/bin/python3 oracle_exits.py --run RUN --data DATA [--adapters RUN/adapters.pt]
    [--fill copy|linear|single] [--rank R] [--min-layer 1] [--shortlist BUNDLE/shortlist.json]
"""
import argparse
import json
import os
import sys

import torch

from cider import cider_d
from exit_adapters import head_logits, hidden_states, own_captions
from export_photo import load_adapters, load_best
from train_photo import feature_batch, load_data

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "caption"))
from model import greedy  # noqa: E402


def with_bias(h):
    return torch.cat([h, torch.ones(*h.shape[:-1], 1)], -1)


def correction(x, y, rank):
    """W of y ~ x + [x, 1] W by least squares; with rank > 0, projected onto the fit's top
    `rank` principal directions (reduced-rank regression)."""
    X = with_bias(x)
    W = torch.linalg.lstsq(X, y - x).solution
    if rank:
        fitted = X @ W
        _, _, Vt = torch.linalg.svd(fitted - fitted.mean(0), full_matrices=False)
        W = W @ (Vt[:rank].t() @ Vt[:rank])
    return W


def fit_fill(kind, hs, layers, rank):
    """{(exit layer, skipped layer): W} (0-based; the exit's output is hs[exit], layer i's input
    hs[i - 1]). Pairs left out are filled by copying."""
    maps = {}
    for e in range(layers - 2):
        if kind == "linear":
            for i in range(e + 2, layers):
                maps[e, i] = correction(hs[e], hs[i - 1], rank)
        elif kind == "single":
            W = correction(hs[e], torch.stack([hs[i - 1] for i in range(e + 1, layers)]).mean(0), rank)
            for i in range(e + 1, layers):
                maps[e, i] = W
    return maps


@torch.no_grad()
def oracle_decode(model, cfg, feats, heads, shortlist, maps, max_tokens, min_layer=1):
    """Captions and mean exit layer of oracle exits (at layer `min_layer` or above) with the
    skipped layers filled by `maps`."""
    memory = model.encoder(feats)
    cross = [layer.cross_keys_values(memory) for layer in model.layers]
    b = feats.shape[0]
    empty = memory.new_zeros(b, cfg.heads, 0, cfg.head_dim)
    past = [(empty, empty) for _ in model.layers]
    token = torch.full((b, 1), cfg.bos_id, dtype=torch.long)
    ids = torch.tensor(shortlist)
    out, exits = [], []
    for pos in range(max_tokens):
        hidden = model.embed(token, pos)
        inputs, outputs = [], []
        for i, layer in enumerate(model.layers):
            inputs.append(hidden)
            hidden, _, _ = layer(hidden, past[i][0], past[i][1], *cross[i])
            outputs.append(hidden)
        final = model.exit_logits(cfg.layers - 1, hidden)[:, -1].argmax(-1)
        exit_at = [cfg.layers - 1] * b
        for i in reversed(range(min_layer - 1, cfg.layers - 1)):
            pred = ids[heads(i, outputs[i])[:, -1].argmax(-1)]
            exit_at = [i if p == f else e for p, f, e in zip(pred.tolist(), final.tolist(), exit_at)]
        for i, layer in enumerate(model.layers):
            rows = []
            for r, e in enumerate(exit_at):
                if i <= e:
                    rows.append(inputs[i][r])  # computed: its real input
                elif (e, i) in maps:
                    rows.append(outputs[e][r] + with_bias(outputs[e][r]) @ maps[e, i])
                else:
                    rows.append(outputs[e][r])  # copied upwards
            k, v = layer.self_kv(torch.stack(rows))
            past[i] = (torch.cat([past[i][0], k], 2), torch.cat([past[i][1], v], 2))
        token = final[:, None]
        out.append(final.tolist())
        exits.append([e + 1 for e in exit_at])
        if all(cfg.eos_id in col for col in zip(*out)):
            break
    captions, used = [], []
    for r in range(b):
        seq = []
        for step, layer in zip(out, exits):
            used.append(layer[r])
            if step[r] == cfg.eos_id:
                break
            seq.append(step[r])
        captions.append(seq)
    return captions, sum(used) / len(used)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True, help="the training run (its best.pt)")
    p.add_argument("--data", required=True)
    p.add_argument("--adapters", help="exit_adapters.py's output for the early heads (and their shortlist)")
    p.add_argument("--shortlist", default=os.path.join(HERE, "..", "..", "models", "photo-caption", "shortlist.json"),
                   help="the early heads' shortlist without --adapters")
    p.add_argument("--fill", choices=["copy", "linear", "single"], default="copy")
    p.add_argument("--rank", type=int, default=0, help="rank of the fitted corrections (0: full)")
    p.add_argument("--min-layer", type=int, default=1, help="the oracle exits at this layer or above")
    args = p.parse_args()
    if args.rank < 0:
        sys.exit(f"Expected --rank to be an integer >= 0 but received {args.rank}")
    model, cfg, _ = load_best(args.run)
    if not 1 <= args.min_layer <= cfg.layers:
        sys.exit(f"Expected --min-layer to be an integer in [1, {cfg.layers}] but received {args.min_layer}")
    photos, info, _, features = load_data(args.data)
    if args.adapters:
        adapters, shortlist, _, _ = load_adapters(args.adapters, model, cfg)
    else:
        adapters = None
        with open(args.shortlist) as f:
            shortlist = json.load(f)
    embeddings = model.tokens.weight[shortlist]

    def heads(i, h):
        return head_logits(model, adapters, i, h, embeddings)

    maps = {}
    if args.fill != "copy":
        train = [q for q in photos if q["split"] == "train"]
        hs = torch.cat([hidden_states(model, cfg, features, v["k"], own_captions(model, cfg, features, v["k"], train),
                                      shortlist)[0] for v in info["variants"]], 1)
        maps = fit_fill(args.fill, hs, cfg.layers, args.rank)
    with open(os.path.join(args.data, "tokenizer", "tokenizer.json")) as f:
        words = {i: w for w, i in json.load(f)["model"]["vocab"].items()}
    dev = [q for q in photos if q["split"] == "dev"]
    feats = feature_batch(features, lambda i: 0, [q["index"] for q in dev], cfg)
    refs = {q["index"]: q["words"] for q in dev}

    def score(captions):
        return cider_d({q["index"]: [words[t] for t in c] for q, c in zip(dev, captions)}, refs)[0]

    with torch.no_grad():
        full = greedy(model, cfg, feats, max_tokens=cfg.max_length - 1)
    early, mean_exit = oracle_decode(model, cfg, feats, heads, shortlist, maps, cfg.max_length - 1, args.min_layer)
    same = sum(a == b for a, b in zip(full, early))
    print(f"dev, {len(dev)} photos: full depth CIDEr-D {score(full):.4f}; oracle exits, fill {args.fill}"
          f"{f' rank {args.rank}' if args.fill != 'copy' and args.rank else ''}"
          f"{f', exits from layer {args.min_layer}' if args.min_layer > 1 else ''}: CIDEr-D {score(early):.4f} "
          f"({score(early) / score(full):.1%}), mean exit {mean_exit:.2f}, {same} of {len(dev)} captions unchanged")


if __name__ == "__main__":
    main()
