"""Fill maps: a learned fill for the layers a token skips when it exits early.

When a token exits at layer e, the layers above it have no keys/values for its position; the
runtime computes them from the exit's hidden state h copied upwards (as CALM does). That copy is
exact for layer e+1 (its input is h) and wrong by a layer's worth or more above it. A fill map
predicts the input of skipped layer j from h instead:

    x_j ~ h + ([h, 1] U) V          (U: (D+1) x r, V: r x D; a rank-r linear correction)

fitted by least squares, then reduced to rank r (reduced-rank regression: the fit projected on
its top r principal directions), for each (exit e, skipped layer j >= e+2) pair with e up to
--exits. Pairs without a map keep the copy. Data: the hidden states of the model's own
full-depth greedy captions of the training photos (teacher-forced, every cached variant); the
calibration photos are left out. Reports, per pair, the squared error of the map on the dev
photos as a fraction of the copy's.

export_photo.py --fills RUN/fill-maps.pt puts them in the bundle (`graphs.fillMaps`; the
`kv_above_{e}` graphs apply them); oracle_exits.py --fills uses them in PyTorch.

Usage: /usr/bin/python3 fill_maps.py --run RUN --data DATA [--rank 16] [--exits 2] [--states FILE]
    [--out RUN/fill-maps.pt]
"""
import argparse
import os
import sys
import time

import torch

from exit_adapters import hidden_states, model_key, own_captions, save_states
from export_photo import load_best
from photo_model import apply_map, with_bias
from train_photo import load_data


def fit_map(x, y, rank):
    """(U, V) of y ~ x + [x, 1] U V by least squares; with rank > 0, reduced to the fit's top
    `rank` principal directions; with rank 0, the full fit (V is None)."""
    X = with_bias(x)
    W = torch.linalg.lstsq(X, y - x).solution
    if not rank:
        return W, None
    fitted = X @ W
    _, _, Vt = torch.linalg.svd(fitted - fitted.mean(0), full_matrices=False)
    return W @ Vt[:rank].t(), Vt[:rank].contiguous()


def pairs(layers, exits):
    """(exit, skipped layer) pairs that get a map, 0-based: the exit's output is hs[e], layer i's
    input hs[i - 1]; the layer right above the exit already has its exact input."""
    return [(e, i) for e in range(min(layers - 2, exits)) for i in range(e + 2, layers)]


def fit_maps(hs, layers, rank, exits):
    """{(e, i): (U, V)} for `pairs(layers, exits)`, from hidden states hs (L-1, N, D)."""
    return {(e, i): fit_map(hs[e], hs[i - 1], rank) for e, i in pairs(layers, exits)}


def states(model, cfg, features, variants, photos):
    """Hidden states after layers 1..L-1 of the model's own captions of `photos` (L-1, N, D)."""
    return torch.cat([hidden_states(model, cfg, features, k, own_captions(model, cfg, features, k, photos), [0])[0]
                      for k in variants], 1)


def cached_states(path, model, cfg, features, variants, photos):
    """`states(...)`, read from `path` (save_states) when it holds those of the same model (but for
    its exit heads), variants and photos, else computed (and kept there, with a path)."""
    if path and os.path.exists(path):
        saved = torch.load(path)
        if isinstance(saved, dict) and saved.get("model") == model_key(model) and \
                saved.get("variants") == list(variants) and saved.get("photos") == [q["index"] for q in photos]:
            print(f"hidden states of {len(photos)} photos x {len(variants)} variant(s) read from {path}", flush=True)
            return saved["states"]
        print(f"{path}: another model's, or other variants or photos; computing the states again", flush=True)
    with torch.no_grad():
        hs = states(model, cfg, features, variants, photos)
    if path:
        save_states(path, hs, model, variants, photos)
    return hs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True, help="the training run (its best.pt)")
    p.add_argument("--data", required=True)
    p.add_argument("--rank", type=int, default=16, help="rank of each map (0: full)")
    p.add_argument("--exits", type=int, default=2, help="maps for tokens that exit at layers 1 to this one")
    p.add_argument("--variants", type=int, default=6, help="cached variants of each training photo used")
    p.add_argument("--states", help="the training photos' hidden states: read from this file when it has them "
                   "(exit_adapters.py --states writes it), else computed and written there")
    p.add_argument("--out", help="write the maps here (default RUN/fill-maps.pt)")
    args = p.parse_args()
    for name in ("rank", "exits", "variants"):
        if getattr(args, name) < (0 if name == "rank" else 1):
            sys.exit(f"Expected --{name} to be an integer >= {0 if name == 'rank' else 1} "
                     f"but received {getattr(args, name)}")
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "2"))))
    t0 = time.time()
    model, cfg, _ = load_best(args.run)
    if args.exits > cfg.layers - 2:
        sys.exit(f"Expected --exits to be at most {cfg.layers - 2} (exits with a layer to skip above the next) "
                 f"but received {args.exits}")
    photos, info, _, features = load_data(args.data)
    split = {s: [q for q in photos if q["split"] == s] for s in ("train", "dev")}
    for s, chosen in split.items():
        if not chosen:
            sys.exit(f"{args.data}: no {s} photos in photos.jsonl")
    train = cached_states(args.states, model, cfg, features, [v["k"] for v in info["variants"]][:args.variants],
                          split["train"])
    with torch.no_grad():
        dev = states(model, cfg, features, [0], split["dev"])
        maps = fit_maps(train, cfg.layers, args.rank, args.exits)
        residual = {}
        for (e, i), m in maps.items():
            target = dev[i - 1]
            copy = (dev[e] - target).pow(2).sum().item()
            residual[f"{e + 1},{i + 1}"] = round((apply_map(dev[e], m) - target).pow(2).sum().item() / copy, 4)
    print(f"{len(maps)} maps, rank {args.rank or 'full'}, fitted on {train.shape[1]} tokens "
          f"({time.time() - t0:.0f} s); dev squared error as a fraction of the copy's, per (exit, layer): {residual}")
    record = {"rank": args.rank, "exits": args.exits, "variants": args.variants, "trainTokens": train.shape[1],
              "devErrorVsCopy": residual}
    out = args.out or os.path.join(args.run, "fill-maps.pt")
    torch.save({"maps": {f"{e + 1},{i + 1}": {"U": U, "V": V} for (e, i), (U, V) in maps.items()},
                "record": record}, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
