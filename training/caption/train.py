"""Trains the multi-exit captioner on the cache written by make-data.ts.

Checkpoints to RUN/checkpoint.pt every few minutes and after every epoch; resumes from it.
Usage: /usr/bin/python3 train.py --data DIR --run RUN [--epochs 3] [--images-per-batch 32]
    [--targets canonical|all]

Targets: `canonical` (default) trains on each scene's canonical caption (objects left to right,
then the background: every word follows from the image); `all` on its five references, whose
differing templates leave the decoder unsure of the next word wherever the templates differ.
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

from model import CaptionConfig, Captioner, exit_loss_weights, warmup_cosine

MEAN, STD = 0.5, 0.5  # pixel normalisation; the runtime and preprocessor_config.json use the same


def load_split(path, size):
    captions_path = os.path.join(path, "captions.jsonl")
    images_path = os.path.join(path, f"images-{size}.u8")
    for p in (captions_path, images_path):
        if not os.path.exists(p):
            sys.exit(f"{p}: file not found (run make-data.ts first)")
    rows = []
    with open(captions_path) as f:
        for n, line in enumerate(f, 1):
            row = json.loads(line)
            if len(row.get("ids", [])) != 5 or any(not ids for ids in row["ids"]):
                sys.exit(f"{captions_path}:{n}: expected five non-empty captions")
            if row.get("canonical") not in range(5):
                sys.exit(f"{captions_path}:{n}: expected the canonical caption's index (0-4); "
                         "made by an older make-data.ts? Remake the data")
            rows.append(row)
    images = np.memmap(images_path, dtype=np.uint8, mode="r")
    if images.size != len(rows) * size * size * 3:
        sys.exit(f"{images_path}: {images.size} bytes, expected {len(rows)} images of {size}x{size}x3")
    return rows, images.reshape(len(rows), size, size, 3)


def pixels(images, index):
    x = torch.from_numpy(np.ascontiguousarray(images[index])).float().div_(255)
    return x.permute(0, 3, 1, 2).sub_(MEAN).div_(STD)


def targets(row, which):
    """The token-id lists a scene is trained on: its canonical caption, or all five references."""
    return [row["ids"][row["canonical"]]] if which == "canonical" else row["ids"]


def caption_batch(rows, index, cfg, which):
    seqs = [[cfg.bos_id, *ids, cfg.eos_id] for i in index for ids in targets(rows[i], which)]
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), cfg.pad_id, dtype=torch.long)
    for r, s in enumerate(seqs):
        out[r, :len(s)] = torch.tensor(s)
    return out


def losses(model, images, captions, cfg, memory=None):
    """Per-exit losses; with `memory` (cached, frozen encoder) the images are not encoded."""
    n = len(images) if memory is None else len(memory)
    per_image = captions.shape[0] // n
    if memory is None:
        logits = model(images, captions[:, :-1], captions_per_image=per_image)
    else:
        logits = model.decode(memory, captions[:, :-1], captions_per_image=per_image)
    target = captions[:, 1:]
    mask = target != cfg.pad_id
    ce = nn.functional.cross_entropy(
        logits.flatten(0, 2), target.repeat(cfg.layers, 1, 1).flatten(), reduction="none"
    ).view(cfg.layers, *target.shape)
    return (ce * mask).sum((1, 2)) / mask.sum(), logits, target, mask


@torch.no_grad()
def encode_all(model, images, batch=200):
    """The frozen encoder's memory for every image (cached once)."""
    model.encoder.eval()
    return torch.cat([model.encoder(pixels(images, list(range(s, min(s + batch, len(images))))))
                      for s in range(0, len(images), batch)])


@torch.no_grad()
def evaluate(model, rows, images, cfg, which, count=500, memory=None):
    """Teacher-forced token accuracy of each exit and its agreement with the last exit."""
    model.eval()
    correct = torch.zeros(cfg.layers)
    agree = torch.zeros(cfg.layers)
    total = 0
    for start in range(0, min(count, len(rows)), 50):
        index = list(range(start, min(start + 50, count, len(rows))))
        cached = None if memory is None else memory[index]
        px = None if memory is not None else pixels(images, index)
        _, logits, target, mask = losses(model, px, caption_batch(rows, index, cfg, which), cfg, cached)
        pred = logits.argmax(-1)
        correct += ((pred == target) & mask).sum((1, 2)).float()
        agree += ((pred == pred[-1]) & mask).sum((1, 2)).float()
        total += mask.sum().item()
    model.train()
    return [round(x / total, 4) for x in correct.tolist()], [round(x / total, 4) for x in agree.tolist()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--images-per-batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--checkpoint-minutes", type=float, default=5)
    p.add_argument("--separate-heads", action="store_true", help="a projection per exit instead of the tied one")
    p.add_argument("--targets", choices=("canonical", "all"), default="canonical",
                   help="train on each scene's canonical caption (default) or on all five references")
    p.add_argument("--encoder", help="pre-trained encoder (pretrain_encoder.py): frozen, features cached")
    args = p.parse_args()

    with open(os.path.join(args.data, "tokenizer", "tokenizer.json")) as f:
        vocab_size = len(json.load(f)["model"]["vocab"])
    cfg = CaptionConfig(vocab_size=vocab_size, separate_heads=args.separate_heads)
    train_rows, train_images = load_split(os.path.join(args.data, "train"), cfg.image_size)
    val_rows, val_images = load_split(os.path.join(args.data, "val"), cfg.image_size)
    torch.manual_seed(args.seed)
    model = Captioner(cfg)
    train_memory = val_memory = None
    if args.encoder:
        encoder = torch.load(args.encoder)
        keys = ("hidden", "image_size", "channels")
        if any(encoder["config"][k] != cfg.to_dict()[k] for k in keys):
            sys.exit(f"{args.encoder}: encoder config {encoder['config']} does not match {cfg.to_dict()}")
        model.encoder.load_state_dict(encoder["encoder"])
        for parameter in model.encoder.parameters():
            parameter.requires_grad_(False)
        t = time.time()
        train_memory = encode_all(model, train_images)
        val_memory = encode_all(model, val_images)
        print(f"cached the frozen encoder's features of {len(train_memory) + len(val_memory)} images "
              f"in {time.time() - t:.0f} s", flush=True)
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=args.lr, weight_decay=0.01)
    steps_per_epoch = len(train_rows) // args.images_per_batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, total, 300))
    weights = exit_loss_weights(cfg.layers)
    os.makedirs(args.run, exist_ok=True)
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    per_image = 1 if args.targets == "canonical" else 5
    state = {"epoch": 0, "step": 0, "elapsed": 0.0, "history": [], "targets": args.targets}
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path)
        if ckpt["config"] != cfg.to_dict():
            sys.exit(f"{ckpt_path}: config {ckpt['config']} does not match {cfg.to_dict()}")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        state = ckpt["state"]
        if state.get("targets", "all") != args.targets:
            sys.exit(f"{ckpt_path}: trained with --targets {state.get('targets', 'all')}, "
                     f"not {args.targets}; resume with the same targets or use another --run")
        print(f"resumed at epoch {state['epoch'] + 1} step {state['step']}", flush=True)
    print(f"{sum(p.numel() for p in model.parameters())} parameters, {len(train_rows)} scenes, "
          f"{steps_per_epoch} steps/epoch", flush=True)

    def save():
        torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "state": state}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    model.train()
    if train_memory is not None:
        model.encoder.eval()  # frozen: BatchNorm keeps its pre-trained statistics
    last_save = time.time()
    for epoch in range(state["epoch"], args.epochs):
        order = list(range(len(train_rows)))
        random.Random(args.seed + epoch).shuffle(order)
        t0 = time.time()
        running = None
        for step in range(state["step"], steps_per_epoch):
            index = sorted(order[step * args.images_per_batch:(step + 1) * args.images_per_batch])
            if train_memory is None:
                per_exit, _, _, _ = losses(model, pixels(train_images, index),
                                           caption_batch(train_rows, index, cfg, args.targets), cfg)
            else:
                per_exit, _, _, _ = losses(model, None, caption_batch(train_rows, index, cfg, args.targets), cfg,
                                          train_memory[index])
            loss = (per_exit * weights).sum()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            state["step"] = step + 1
            if step % 50 == 0:
                rate = (step + 1 - state.get("resumed_step", 0)) * args.images_per_batch * per_image / (time.time() - t0)
                print(f"epoch {epoch + 1} step {step}/{steps_per_epoch} loss {running:.4f} "
                      f"exit losses {[round(x, 3) for x in per_exit.tolist()]} {rate:.0f} captions/s", flush=True)
            if time.time() - last_save > args.checkpoint_minutes * 60:
                state["elapsed"] += time.time() - last_save
                last_save = time.time()
                save()
            if args.max_steps and step + 1 >= args.max_steps:
                break
        state["elapsed"] += time.time() - last_save
        last_save = time.time()
        accuracy, agreement = evaluate(model, val_rows, val_images, cfg, args.targets, memory=val_memory)
        record = {"epoch": epoch + 1, "seconds": round(state["elapsed"]), "val_token_accuracy": accuracy,
                  "val_agreement_with_last": agreement}
        state["history"].append(record)
        print(json.dumps(record), flush=True)
        state["epoch"], state["step"] = epoch + 1, 0
        save()
        if args.max_steps:
            break
    print(f"done in {state['elapsed'] / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
