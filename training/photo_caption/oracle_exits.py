"""Diagnostic: what does filling a skipped layer's keys/values from the exit's hidden state cost
by itself? Greedy decoding of the dev photos in PyTorch where every token exits at the first
layer whose head already gives full depth's token (an oracle: no wrong exit is ever taken; full
depth is computed at every step only to know that token), against plain full-depth decoding.
Every token is the one full depth gives with the same cache, so captions can differ only through
the keys/values of the layers a token skipped:

- `copy` (what the runtime does, as CALM): the exit's hidden state copied upwards, each skipped
  layer's keys/values computed from it;
- `linear`: for each (exit layer, skipped layer) pair, the skipped layer's input predicted from
  the exit's hidden state, h + [h, 1] W (least squares, reduced to --rank if given; fill_maps.py,
  which also fits the maps a bundle ships: --fills uses those), fitted on the model's own
  full-depth captions of the training photos (teacher-forced, every cached variant), for exits
  up to --fill-exits; the layer right above the exit already has its exact input, the exit's
  output;
- `single`: one such prediction per exit layer for all the layers above it (fitted to the mean of
  their inputs), as a runtime that stores one vector per skipped position would need.

--min-layer K lets the oracle exit only at layer K or above (the depth a real policy works at).
--policy POLICY.json takes a BEEM policy's exits instead of the oracle's (and their tokens, which
may differ from full depth's, unless --true-tokens), to tell what its wrong exits cost from what
the fill costs. Prints dev CIDEr-D of both, the mean exit layer and how many captions came out
unchanged (no repetition limits here). --states FILE keeps the training photos' hidden states
that fills are fitted on between runs.

Usage: /usr/bin/python3 oracle_exits.py --run RUN --data DATA [--adapters RUN/adapters.pt]
    [--fill copy|linear|single [--rank R] [--fill-exits E] [--states FILE] | --fills RUN/fill-maps.pt]
    [--min-layer 1] [--policy POLICY.json [--true-tokens]] [--shortlist BUNDLE/shortlist.json]
"""
import argparse
import json
import os
import sys

import torch

from cider import cider_d
from exit_adapters import head_logits
from export_photo import load_adapters, load_best
from fill_maps import cached_states, fit_map, fit_maps
from photo_model import apply_map, load_fills
from train_photo import feature_batch, load_data

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "caption"))
from model import greedy  # noqa: E402


def fit_fill(kind, hs, layers, rank, exits=None):
    """{(exit layer, skipped layer): (U, V)} (0-based, as fill_maps.py) for exits up to `exits`
    (1-based; all by default). Pairs left out are filled by copying."""
    exits = exits or layers
    if kind == "linear":
        return fit_maps(hs, layers, rank, exits)
    maps = {}
    for e in range(min(layers - 2, exits)):  # "single": one map per exit, to the mean of the inputs above
        m = fit_map(hs[e], torch.stack([hs[i - 1] for i in range(e + 1, layers)]).mean(0), rank)
        for i in range(e + 1, layers):
            maps[e, i] = m
    return maps


def policy_exit(policy, preds, confs, min_layer):
    """(exit layer, its token), 0-based, of one token under a BEEM policy file's rule, from the
    early exits' predictions and confidences; None where no early exit is taken."""
    score, previous = 0.0, None
    for i, (pred, conf) in enumerate(zip(preds, confs)):
        vote = policy["weights"][i] * conf
        score = score + vote if previous is None or pred == previous else (vote if policy["reset"] == "current" else 0.0)
        previous = pred
        if i >= min_layer - 1 and score >= policy["thresholds"][i]:
            return i, pred
    return None


@torch.no_grad()
def oracle_decode(model, cfg, feats, heads, shortlist, maps, max_tokens, min_layer=1, policy=None, true_tokens=False):
    """Captions and mean exit layer of oracle exits (at layer `min_layer` or above) with the
    skipped layers filled by `maps`. With `policy` (a BEEM policy file's contents), exits are the
    policy's instead, and so are their tokens unless `true_tokens`; also returns, per early exit,
    how many tokens left there and how many of those differed from full depth's token."""
    memory = model.encoder(feats)
    cross = [layer.cross_keys_values(memory) for layer in model.layers]
    b = feats.shape[0]
    empty = memory.new_zeros(b, cfg.heads, 0, cfg.head_dim)
    past = [(empty, empty) for _ in model.layers]
    token = torch.full((b, 1), cfg.bos_id, dtype=torch.long)
    ids = torch.tensor(shortlist)
    out, exits = [], []
    taken, wrong = [0] * cfg.layers, [0] * cfg.layers
    for pos in range(max_tokens):
        hidden = model.embed(token, pos)
        inputs, outputs = [], []
        for i, layer in enumerate(model.layers):
            inputs.append(hidden)
            hidden, _, _ = layer(hidden, past[i][0], past[i][1], *cross[i])
            outputs.append(hidden)
        final = model.exit_logits(cfg.layers - 1, hidden)[:, -1].argmax(-1)
        exit_at = [cfg.layers - 1] * b
        chosen = final.clone()
        if policy is None:
            for i in reversed(range(min_layer - 1, cfg.layers - 1)):
                pred = ids[heads(i, outputs[i])[:, -1].argmax(-1)]
                exit_at = [i if p == f else e for p, f, e in zip(pred.tolist(), final.tolist(), exit_at)]
        else:
            probs = [torch.softmax(heads(i, outputs[i])[:, -1], -1).max(-1) for i in range(cfg.layers - 1)]
            for r in range(b):
                if pos > 0 and cfg.eos_id in [step[r] for step in out]:
                    continue  # finished: its exits no longer count
                decision = policy_exit(policy, [ids[p.indices[r]].item() for p in probs],
                                       [p.values[r].item() for p in probs], min_layer)
                if decision is not None:
                    exit_at[r] = decision[0]
                    taken[decision[0]] += 1
                    wrong[decision[0]] += decision[1] != final[r].item()
                    if not true_tokens:
                        chosen[r] = decision[1]
        for i, layer in enumerate(model.layers):
            rows = []
            for r, e in enumerate(exit_at):
                if i <= e:
                    rows.append(inputs[i][r])  # computed: its real input
                elif (e, i) in maps:
                    rows.append(apply_map(outputs[e][r], maps[e, i]))
                else:
                    rows.append(outputs[e][r])  # copied upwards
            k, v = layer.self_kv(torch.stack(rows))
            past[i] = (torch.cat([past[i][0], k], 2), torch.cat([past[i][1], v], 2))
        token = chosen[:, None]
        out.append(chosen.tolist())
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
    return captions, sum(used) / len(used), list(zip(taken, wrong))[:-1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True, help="the training run (its best.pt)")
    p.add_argument("--data", required=True)
    p.add_argument("--adapters", help="exit_adapters.py's output for the early heads (and their shortlist)")
    p.add_argument("--shortlist", default=os.path.join(HERE, "..", "..", "models", "photo-caption", "shortlist.json"),
                   help="the early heads' shortlist without --adapters")
    p.add_argument("--fill", choices=["copy", "linear", "single"], default="copy")
    p.add_argument("--fills", help="fill_maps.py's maps instead of fitting them here (--fill linear)")
    p.add_argument("--states", help="a file keeping the training photos' hidden states the fills are fitted on "
                   "(read when it has those of every variant, else computed and written; fill_maps.py --states)")
    p.add_argument("--fill-exits", type=int, help="fit fills only for exits up to this layer (others copy)")
    p.add_argument("--rank", type=int, default=0, help="rank of the fitted corrections (0: full)")
    p.add_argument("--min-layer", type=int, default=1, help="the oracle exits at this layer or above")
    p.add_argument("--policy", help="a BEEM policy file (a bundle's policy.json): its exits instead of the oracle's")
    p.add_argument("--true-tokens", action="store_true",
                   help="with --policy, every token is full depth's: only the exit layers are the policy's")
    args = p.parse_args()
    if args.rank < 0:
        sys.exit(f"Expected --rank to be an integer >= 0 but received {args.rank}")
    if args.fill_exits is not None and args.fill_exits < 1:
        sys.exit(f"Expected --fill-exits to be an integer >= 1 but received {args.fill_exits}")
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
    if args.fills:
        maps, _ = load_fills(args.fills, cfg)
    elif args.fill != "copy":
        hs = cached_states(args.states, model, cfg, features, [v["k"] for v in info["variants"]],
                           [q for q in photos if q["split"] == "train"])
        maps = fit_fill(args.fill, hs, cfg.layers, args.rank, args.fill_exits)
    with open(os.path.join(args.data, "tokenizer", "tokenizer.json")) as f:
        words = {i: w for w, i in json.load(f)["model"]["vocab"].items()}
    dev = [q for q in photos if q["split"] == "dev"]
    feats = feature_batch(features, lambda i: 0, [q["index"] for q in dev], cfg)
    refs = {q["index"]: q["words"] for q in dev}

    def score(captions):
        return cider_d({q["index"]: [words[t] for t in c] for q, c in zip(dev, captions)}, refs)[0]

    with torch.no_grad():
        full = greedy(model, cfg, feats, max_tokens=cfg.max_length - 1)
    policy = None
    if args.policy:
        with open(args.policy) as f:
            policy = json.load(f)
        if policy.get("rule") != "beem":
            sys.exit(f"{args.policy}: expected a BEEM policy (rule \"beem\") but its rule is {policy.get('rule')!r}")
    early, mean_exit, counts = oracle_decode(model, cfg, feats, heads, shortlist, maps, cfg.max_length - 1,
                                             args.min_layer, policy, args.true_tokens)
    same = sum(a == b for a, b in zip(full, early))
    print(f"dev, {len(dev)} photos: full depth CIDEr-D {score(full):.4f}; {'policy' if policy else 'oracle'} exits, fill {'linear' if args.fills else args.fill}"
          f"{f' rank {args.rank}' if args.fill != 'copy' and args.rank else ''}{f' from {args.fills}' if args.fills else ''}"
          f"{f', exits from layer {args.min_layer}' if args.min_layer > 1 else ''}: CIDEr-D {score(early):.4f} "
          f"({score(early) / score(full):.1%}), mean exit {mean_exit:.2f}, {same} of {len(dev)} captions unchanged")
    if policy is not None:
        print("policy exits per early layer (taken, of them not full depth's token): "
              + ", ".join(f"{i + 1}: {t}/{w}" for i, (t, w) in enumerate(counts)))


if __name__ == "__main__":
    main()
