"""Exit adapters: the early exit heads (layers 1 to L-1) of a trained photo captioner retrained on
its own full-depth captions, with the decoder frozen, so that they agree more with the last exit
while full depth stays exactly as it was.

Each early head becomes  logits = ln_exit_i(h + B_i gelu(A_i h + a_i)) @ E[shortlist]^T : a
rank-r residual adapter (B_i starts at zero, so training starts from the trained head) before the
head's own LayerNorm, which is trained too; the tied embeddings E and the last exit are frozen.
Trained by KL divergence from the last exit's distribution over the shortlist (renormalised), on
the hidden states of the model's own full-depth greedy captions of the training photos (every
cached variant; the calibration photos are left out, so the calibration log stays held out).

Reports teacher-forced agreement with the last exit on the model's own full-depth greedy captions
of the dev photos and of the calibration photos, before and after.

The shortlist the early heads score is chosen here as export_photo.py chooses it (or read from
--shortlist, e.g. an exported bundle's shortlist.json) and saved with the adapters; export_photo.py
--adapters RUN/adapters.pt exports both.

Usage: /usr/bin/python3 exit_adapters.py --run RUN --data DATA [--shortlist BUNDLE/shortlist.json]
    [--rank 32] [--epochs 20] [--states FILE] [--out RUN/adapters.pt]
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

from export_photo import choose_shortlist, load_best
from photo_model import exit_adapters
from train_photo import feature_batch, load_data, padded

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "caption"))
from model import greedy  # noqa: E402


@torch.no_grad()
def own_captions(model, cfg, features, variant, photos, batch=64):
    """[bos, greedy tokens..., eos] of each photo's `variant` features, full depth."""
    out = []
    for s in range(0, len(photos), batch):
        index = [p["index"] for p in photos[s:s + batch]]
        feats = feature_batch(features, lambda i: variant, index, cfg)
        out += [(i, seq) for i, seq in zip(index, greedy(model, cfg, feats, max_tokens=cfg.max_length - 1))]
    return out


@torch.no_grad()
def hidden_states(model, cfg, features, variant, captions, shortlist, batch=64):
    """Teacher-forced on the model's own captions: hidden states after layers 1..L-1 at every
    position (L-1, N, D), and the last exit's log-probabilities over the shortlist (N, K) and its
    token (N,)."""
    hs, teacher, tokens = [], [], []
    for s in range(0, len(captions), batch):
        chunk = captions[s:s + batch]
        feats = feature_batch(features, lambda i: variant, [i for i, _ in chunk], cfg)
        ids = padded([seq for _, seq in chunk], cfg)
        memory = model.encoder(feats)
        hidden = model.embed(ids[:, :-1])
        t = ids.shape[1] - 1
        causal = torch.ones(t, t, dtype=torch.bool).triu(1)
        empty = hidden.new_zeros(len(chunk), cfg.heads, 0, cfg.head_dim)
        mask = ids[:, 1:] != cfg.pad_id
        per_layer = []
        for i, layer in enumerate(model.layers):
            hidden, _, _ = layer(hidden, empty, empty, *layer.cross_keys_values(memory), causal)
            if i < cfg.layers - 1:
                per_layer.append(hidden[mask])
        last = model.exit_logits(cfg.layers - 1, hidden)[mask]
        hs.append(torch.stack(per_layer))
        teacher.append(last[:, shortlist].log_softmax(-1))
        tokens.append(last.argmax(-1))
    return torch.cat(hs, 1), torch.cat(teacher), torch.cat(tokens)


def head_logits(model, adapters, i, hidden, embeddings):
    h = hidden if adapters is None else adapters[i](hidden)
    return model.layers[i].ln_exit(h) @ embeddings.t()


@torch.no_grad()
def agreement(model, adapters, hs, tokens, shortlist, embeddings):
    ids = torch.tensor(shortlist)
    return [round((ids[head_logits(model, adapters, i, hs[i], embeddings).argmax(-1)] == tokens).float().mean().item(), 4)
            for i in range(hs.shape[0])]


def model_key(model):
    """A fingerprint of the weights hidden states depend on (every one but the exit heads')."""
    return round(sum(float(q.double().sum()) for name, q in model.named_parameters() if "ln_exit" not in name), 6)


def save_states(path, hs, model, variants, photos):
    """Keeps hidden states (L-1, N, D) of the model's own captions of `photos` (their `variants`) for
    fill_maps.py, which reads them back with cached_states()."""
    torch.save({"model": model_key(model), "variants": list(variants), "photos": [q["index"] for q in photos],
                "states": hs}, path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True, help="the training run (its best.pt)")
    p.add_argument("--data", required=True)
    p.add_argument("--shortlist", help="a shortlist.json to keep (default: chosen as export_photo.py does)")
    p.add_argument("--shortlist-size", type=int, default=512, help="tokens the early heads score, when chosen here")
    p.add_argument("--rank", type=int, default=32, help="the adapters' inner width (0: only the heads' LayerNorms)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=512, help="tokens per step")
    p.add_argument("--variants", type=int, default=6, help="cached variants of each training photo used")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--states", help="also keep the training photos' hidden states in this file, for "
                   "fill_maps.py --states")
    p.add_argument("--out", help="write the adapters here (default RUN/adapters.pt)")
    args = p.parse_args()
    for name in ("rank", "epochs", "batch", "variants", "shortlist_size"):
        if getattr(args, name) < (0 if name == "rank" else 1):
            sys.exit(f"Expected --{name.replace('_', '-')} to be an integer >= {0 if name == 'rank' else 1} "
                     f"but received {getattr(args, name)}")
    if not args.lr > 0:
        sys.exit(f"Expected --lr to be a number > 0 but received {args.lr}")
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "2"))))
    model, cfg, _ = load_best(args.run)
    for q in model.parameters():
        q.requires_grad_(False)
    photos, info, _, features = load_data(args.data)
    if args.shortlist:
        with open(args.shortlist) as f:
            shortlist, shortlist_info = json.load(f), None
    else:
        shortlist, shortlist_info = choose_shortlist(model, cfg, args.data, info, args.shortlist_size)
        print(f"shortlist: {shortlist_info}", flush=True)
    if not 2 <= len(shortlist) <= cfg.vocab_size or not all(0 <= t < cfg.vocab_size for t in shortlist):
        sys.exit(f"the shortlist must hold 2 to {cfg.vocab_size} token ids below {cfg.vocab_size}")
    embeddings = model.tokens.weight[shortlist]
    t0 = time.time()
    train = [p for p in photos if p["split"] == "train"]
    sets = {}
    for name, split, variants in (("dev", "dev", [0]), ("calibration", "calibration", [0]),
                                  ("train", "train", [v["k"] for v in info["variants"]][:args.variants])):
        chosen = [p for p in photos if p["split"] == split]
        if not chosen:
            sys.exit(f"{args.data}: no {split} photos in photos.jsonl")
        parts = [hidden_states(model, cfg, features, v, own_captions(model, cfg, features, v, chosen), shortlist)
                 for v in variants]
        sets[name] = (torch.cat([a for a, _, _ in parts], 1), torch.cat([b for _, b, _ in parts]),
                      torch.cat([c for _, _, c in parts]))
        if name == "train" and args.states:
            save_states(args.states, sets[name][0], model, variants, chosen)
        print(f"{name}: {sets[name][0].shape[1]} tokens of {len(chosen)} photos x {len(variants)} variant(s) "
              f"({time.time() - t0:.0f} s)", flush=True)
    before = {name: agreement(model, None, sets[name][0], sets[name][2], shortlist, embeddings)
              for name in ("dev", "calibration", "train")}
    for name, values in before.items():
        print(f"agreement before, {name}: {values}")

    adapters = exit_adapters(cfg, args.rank)
    heads = [model.layers[i].ln_exit for i in range(cfg.layers - 1)]
    trainable = list(adapters.parameters()) + [q for h in heads for q in h.parameters()]
    for q in trainable:
        q.requires_grad_(True)
    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    hs, teacher, tokens = sets["train"]
    n = hs.shape[1]
    steps = args.epochs * ((n + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    for epoch in range(args.epochs):
        order = torch.randperm(n)
        total = 0.0
        for s in range(0, n, args.batch):
            rows = order[s:s + args.batch]
            loss = 0.0
            for i in range(cfg.layers - 1):
                log_p = head_logits(model, adapters, i, hs[i, rows], embeddings).log_softmax(-1)
                loss = loss + F.kl_div(log_p, teacher[rows], log_target=True, reduction="batchmean")
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(rows)
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1} loss {total / n:.4f} dev {agreement(model, adapters, *sets['dev'][::2], shortlist, embeddings)} "
                  f"calibration {agreement(model, adapters, *sets['calibration'][::2], shortlist, embeddings)} "
                  f"({time.time() - t0:.0f} s)", flush=True)
    after = {name: agreement(model, adapters, sets[name][0], sets[name][2], shortlist, embeddings)
             for name in ("dev", "calibration", "train")}
    for name, values in after.items():
        print(f"agreement after, {name}: {values}")
    record = {"rank": args.rank, "epochs": args.epochs, "lr": args.lr, "variants": args.variants,
              "trainTokens": n, "seconds": round(time.time() - t0),
              "agreementWithLastExit": {"note": "teacher-forced on the model's own full-depth greedy captions",
                                        "before": before, "after": after}}
    out = args.out or os.path.join(args.run, "adapters.pt")
    torch.save({"rank": args.rank, "adapters": adapters.state_dict(), "shortlist": shortlist,
                "shortlistInfo": shortlist_info, "record": record,
                "ln_exit": {i: model.layers[i].ln_exit.state_dict() for i in range(cfg.layers - 1)}}, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
