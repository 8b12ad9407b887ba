"""Trains the photo captioner's decoder on cached MobileNetV2 features (features.py), in two phases:

1. `pretrain`: a language model on the text-only captions and the training captions
   (cross-attention skipped), every exit trained;
2. `caption`: the whole decoder on the training photos' features (one augmented variant per
   photo and epoch), five captions each, every exit trained with its cross-entropy (weights
   growing with depth) plus distillation towards the last exit (so that early exits agree with
   it), choosing the epoch by CIDEr-D of full-depth greedy captions on `dev`; stops after
   --patience epochs without improvement.

Checkpoints to RUN/checkpoint.pt every few minutes and after every epoch, and resumes from it;
the language model goes to RUN/pretrained.pt, the best epoch's weights to RUN/best.pt; --pretrained
starts another run from either (from best.pt: a fine-tune, e.g. with a lower --lr and a stronger
--distill). Uses a CUDA GPU when one is present.
Usage: /usr/bin/python3 train_photo.py --data DIR --run RUN [--epochs 30] [--pretrain-epochs 3]
    [--hidden 320] [--layers 6] [--heads 5] [--ffn 1024] [--dropout 0.1] [--pretrained PT] ...
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from cider import cider_d
from photo_model import PhotoCaptionConfig, photo_captioner

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "caption"))
from model import exit_loss_weights, greedy, warmup_cosine  # noqa: E402


def load_data(data):
    """photos.jsonl, data.json, text-ids.jsonl and the cached features of every variant."""
    for name in ("photos.jsonl", "data.json", "text-ids.jsonl"):
        if not os.path.exists(os.path.join(data, name)):
            sys.exit(f"{os.path.join(data, name)}: file not found (run prepare-data.ts first)")
    with open(os.path.join(data, "photos.jsonl")) as f:
        photos = [json.loads(line) for line in f]
    with open(os.path.join(data, "data.json")) as f:
        info = json.load(f)
    with open(os.path.join(data, "text-ids.jsonl")) as f:
        texts = [json.loads(line) for line in f]
    features = {}
    for v in info["variants"]:
        path = os.path.join(data, f"features-v{v['k']}.f16")
        if not os.path.exists(path):
            sys.exit(f"{path}: file not found (run features.py first)")
        raw = np.fromfile(path, dtype=np.float16)
        per_photo = raw.size // max(1, len(v["photos"]))
        if per_photo * len(v["photos"]) != raw.size or per_photo % 49 != 0:
            sys.exit(f"{path}: {raw.size} values do not divide into {len(v['photos'])} photos")
        rows = torch.from_numpy(raw.reshape(len(v["photos"]), -1))
        features[v["k"]] = {photo: rows[r] for r, photo in enumerate(v["photos"])}
    return photos, info, texts, features


def feature_batch(features, variant_of, index, cfg):
    """(B, C, g, g) float32 features of photos `index`, each in its chosen variant."""
    rows = [features[variant_of(i)][i] for i in index]
    return torch.stack(rows).float().view(len(index), cfg.grid * cfg.grid, cfg.features).transpose(1, 2) \
        .reshape(len(index), cfg.features, cfg.grid, cfg.grid)


def padded(seqs, cfg):
    """[bos, ids..., eos] rows padded to one width, at most max_length + 1 wide."""
    seqs = [[cfg.bos_id, *s[:cfg.max_length - 1], cfg.eos_id] for s in seqs]
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), cfg.pad_id, dtype=torch.long)
    for r, s in enumerate(seqs):
        out[r, :len(s)] = torch.tensor(s)
    return out


def exit_losses(logits, captions, cfg, smoothing, unk_id=None):
    """Per-exit cross-entropy (label-smoothed) and distillation towards the last exit. Targets
    that are the unknown word are left out, so that the decoder never learns to say it."""
    target = captions[:, 1:]
    mask = target != cfg.pad_id
    if unk_id is not None:
        mask &= target != unk_id
    mask = mask.float()
    count = mask.sum()
    L, B, T, V = logits.shape
    ce = F.cross_entropy(logits.reshape(-1, V), target.repeat(L, 1, 1).reshape(-1), reduction="none",
                         label_smoothing=smoothing).view(L, B, T)
    ce = (ce * mask).sum((1, 2)) / count
    teacher = logits[-1].detach().softmax(-1)
    log_p = logits[:-1].log_softmax(-1)
    kl = (teacher * (teacher.clamp_min(1e-9).log() - log_p)).sum(-1)  # L-1, B, T
    kl = (kl * mask).sum((1, 2)) / count
    return ce, kl


@torch.no_grad()
def evaluate_dev(model, cfg, features, dev, words, device, max_tokens=30):
    """CIDEr-D of full-depth greedy captions on dev, and teacher-forced per-exit agreement with
    the last exit."""
    model.eval()
    vocab_words = words
    cands, refs = {}, {}
    agree = torch.zeros(cfg.layers)
    total = 0
    for s in range(0, len(dev), 64):
        index = [p["index"] for p in dev[s:s + 64]]
        feats = feature_batch(features, lambda i: 0, index, cfg).to(device)
        for p, seq in zip(dev[s:s + 64], greedy(model, cfg, feats, max_tokens=max_tokens)):
            cands[p["index"]] = [vocab_words[t] for t in seq]
            refs[p["index"]] = p["words"]
        captions = padded([ids for p in dev[s:s + 64] for ids in p["ids"]], cfg).to(device)
        logits = model.decode(model.encoder(feats), captions[:, :-1], captions_per_image=5)
        mask = captions[:, 1:] != cfg.pad_id
        pred = logits.argmax(-1)
        agree += ((pred == pred[-1]) & mask).sum((1, 2)).float().cpu()
        total += mask.sum().item()
    model.train()
    score, _ = cider_d(cands, refs)
    sample = [" ".join(cands[p["index"]]) for p in dev[:3]]
    return round(score, 4), [round(x / total, 4) for x in agree.tolist()], sample


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--pretrain-epochs", type=int, default=3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--hidden", type=int, default=320)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=5)
    p.add_argument("--ffn", type=int, default=1024)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--max-length", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--distill", type=float, default=0.5, help="weight of the early exits' distillation")
    p.add_argument("--exit-weights", choices=["depth", "uniform"], default="depth",
                   help="weights of the exits' cross-entropies: depth, exit i weighs i / sum(1..L); uniform, 1 / L")
    p.add_argument("--pretrain-batch", type=int, default=96, help="sentences per language-model step")
    p.add_argument("--photos-per-batch", type=int, default=16, help="photos (x5 captions) per step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-minutes", type=float, default=5)
    p.add_argument("--max-steps", type=int, default=0, help="stop each phase after this many steps (tests)")
    p.add_argument("--pretrained", help="start from these weights: a language model (RUN/pretrained.pt of another run), "
                   "or a trained captioner (RUN/best.pt) to fine-tune")
    p.add_argument("--warmup", type=int, default=50, help="warm-up steps of each phase's learning rate")
    args = p.parse_args()
    for name in ("epochs", "hidden", "layers", "heads", "ffn", "max_length", "pretrain_batch", "photos_per_batch"):
        if getattr(args, name) < 1:
            sys.exit(f"Expected --{name.replace('_', '-')} to be an integer >= 1 but received {getattr(args, name)}")
    if args.hidden % args.heads:
        sys.exit(f"Expected --hidden ({args.hidden}) to be a multiple of --heads ({args.heads})")

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    photos, info, texts, features = load_data(args.data)
    with open(os.path.join(args.data, "tokenizer", "tokenizer.json")) as f:
        vocab = json.load(f)["model"]["vocab"]
    unk_id = vocab.get("<unk>")
    words = [None] * len(vocab)
    for w, i in vocab.items():
        words[i] = w
    cfg = PhotoCaptionConfig(vocab_size=len(vocab), hidden=args.hidden, layers=args.layers, heads=args.heads,
                             ffn=args.ffn, dropout=args.dropout, max_length=args.max_length)
    train = [p for p in photos if p["split"] == "train"]
    dev = [p for p in photos if p["split"] == "dev"]
    variants = [v["k"] for v in info["variants"] if all(p["index"] in features[v["k"]] for p in train)]
    lm_texts = texts + [ids for p in train for ids in p["ids"]]

    torch.manual_seed(args.seed)
    model = photo_captioner(cfg).to(device)
    weights = exit_loss_weights(cfg.layers) if args.exit_weights == "depth" else torch.full((cfg.layers,), 1 / cfg.layers)
    weights = weights.to(device)
    os.makedirs(args.run, exist_ok=True)
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    state = {"phase": "pretrain", "epoch": 0, "step": 0, "elapsed": 0.0, "history": [], "best": None,
             "args": vars(args)}

    def optimizer(lr, total):
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, total, args.warmup))

    lm_steps = (len(lm_texts) + args.pretrain_batch - 1) // args.pretrain_batch
    cap_steps = (len(train) + args.photos_per_batch - 1) // args.photos_per_batch
    opt, sched = optimizer(args.pretrain_lr, max(1, lm_steps * args.pretrain_epochs))
    if args.pretrained and not os.path.exists(ckpt_path):
        lm = torch.load(args.pretrained, map_location=device)
        if lm["config"] != cfg.to_dict():
            sys.exit(f"{args.pretrained}: config {lm['config']} does not match {cfg.to_dict()}")
        model.load_state_dict(lm["model"])
        state["history"] = list(lm.get("history", []))
        state["phase"] = "pretrained"
        print(f"starting from the weights in {args.pretrained}", flush=True)
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location=device)
        if ckpt["config"] != cfg.to_dict():
            sys.exit(f"{ckpt_path}: config {ckpt['config']} does not match {cfg.to_dict()}; use another --run")
        model.load_state_dict(ckpt["model"])
        state = ckpt["state"]
        if state["phase"] != "pretrain":
            opt, sched = optimizer(args.lr, max(1, cap_steps * args.epochs))
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        print(f"resumed: {state['phase']} epoch {state['epoch'] + 1} step {state['step']}", flush=True)
    print(f"{sum(q.numel() for q in model.parameters())} parameters on {device}; {len(lm_texts)} sentences, "
          f"{len(train)} training photos x {len(variants)} variants, {len(dev)} dev photos", flush=True)

    def save():
        torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "state": state}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    last_save = time.time()

    def tick(force=False):
        nonlocal last_save
        now = time.time()
        state["elapsed"] += now - last_save
        last_save = now
        if force or now - state.get("saved_at", 0) > args.checkpoint_minutes * 60:
            state["saved_at"] = now
            save()

    def train_step(loss):
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()

    model.train()
    # Phase 1: language model, sentences bucketed by length.
    while state["phase"] == "pretrain" and state["epoch"] < args.pretrain_epochs:
        epoch = state["epoch"]
        order = sorted(range(len(lm_texts)), key=lambda i: (len(lm_texts[i]), i))
        batches = [order[s:s + args.pretrain_batch] for s in range(0, len(order), args.pretrain_batch)]
        random.Random(args.seed + epoch).shuffle(batches)
        t0, running = time.time(), None
        for step in range(state["step"], len(batches)):
            captions = padded([lm_texts[i] for i in batches[step]], cfg).to(device)
            logits = model.decode(None, captions[:, :-1])
            ce, _ = exit_losses(logits, captions, cfg, args.smoothing, unk_id)
            loss = (ce * weights).sum()
            train_step(loss)
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            state["step"] = step + 1
            if step % 100 == 0:
                rate = (step + 1 - 0) * args.pretrain_batch / (time.time() - t0)
                print(f"pretrain epoch {epoch + 1} step {step}/{len(batches)} loss {running:.3f} "
                      f"exits {[round(x, 2) for x in ce.tolist()]} {rate:.0f} sentences/s", flush=True)
            tick()
            if args.max_steps and step + 1 >= args.max_steps:
                break
        state["epoch"], state["step"] = epoch + 1, 0
        state["history"].append({"phase": "pretrain", "epoch": epoch + 1, "seconds": round(state["elapsed"]),
                                 "loss": round(running, 4)})
        tick(force=True)
    if state["phase"] in ("pretrain", "pretrained"):
        if state["phase"] == "pretrain" and args.pretrain_epochs > 0:
            torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "history": state["history"]},
                       os.path.join(args.run, "pretrained.pt"))
        state.update(phase="caption", epoch=0, step=0)
        opt, sched = optimizer(args.lr, max(1, cap_steps * args.epochs))
        tick(force=True)

    # Phase 2: captions of the training photos.
    while state["phase"] == "caption" and state["epoch"] < args.epochs:
        epoch = state["epoch"]
        rng = random.Random(args.seed * 1000 + epoch)
        order = [p["index"] for p in train]
        rng.shuffle(order)
        chosen = {i: rng.choice(variants) for i in order}
        by_index = {p["index"]: p for p in train}
        t0, running = time.time(), None
        for step in range(state["step"], cap_steps):
            index = order[step * args.photos_per_batch:(step + 1) * args.photos_per_batch]
            feats = feature_batch(features, chosen.get, index, cfg).to(device)
            captions = padded([ids for i in index for ids in by_index[i]["ids"]], cfg).to(device)
            logits = model.decode(model.encoder(feats), captions[:, :-1], captions_per_image=5)
            ce, kl = exit_losses(logits, captions, cfg, args.smoothing, unk_id)
            loss = (ce * weights).sum() + args.distill * kl.mean()
            train_step(loss)
            running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
            state["step"] = step + 1
            tick()
            if args.max_steps and step + 1 >= args.max_steps:
                break
        cider, agreement, sample = evaluate_dev(model, cfg, features, dev, words, device)
        record = {"phase": "caption", "epoch": epoch + 1, "seconds": round(state["elapsed"]),
                  "loss": round(running, 4), "dev_cider_d": cider, "dev_agreement_with_last": agreement}
        state["history"].append(record)
        print(json.dumps(record), sample, flush=True)
        state["epoch"], state["step"] = epoch + 1, 0
        if state["best"] is None or cider > state["best"]["dev_cider_d"]:
            state["best"] = record
            torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "record": record},
                       os.path.join(args.run, "best.pt"))
        tick(force=True)
        if epoch + 1 - state["best"]["epoch"] >= args.patience or args.max_steps:
            print(f"no better dev CIDEr-D for {epoch + 1 - state['best']['epoch']} epochs: stopping", flush=True)
            break
    state["phase"] = "done"
    tick(force=True)
    print(f"done in {state['elapsed'] / 60:.1f} min; best dev CIDEr-D {state['best']['dev_cider_d']} "
          f"at epoch {state['best']['epoch']}", flush=True)


if __name__ == "__main__":
    main()
