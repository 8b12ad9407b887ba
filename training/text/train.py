"""Trains the multi-exit SST-2 classifier on ids written by pretokenize.ts.

Checkpoints after every epoch to RUN_DIR/checkpoint.pt and resumes from it.
Usage: /usr/bin/python3 train.py --data DIR --run RUN_DIR [--epochs 4] [--batch 64]
"""
import argparse
import json
import os
import random
import sys
import time

import torch
from torch import nn

from model import MultiExitClassifier, TextConfig, count_parameters, exit_loss_weights, warmup_cosine


def read_ids(path, num_labels):
    if not os.path.exists(path):
        sys.exit(f"{path}: file not found (run pretokenize.ts first)")
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not row.get("ids"):
                sys.exit(f"{path}:{n}: empty ids")
            label = row.get("label")
            if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < num_labels:
                sys.exit(f"{path}:{n}: bad label {label!r} (expected 0 to {num_labels - 1})")
            rows.append((row["ids"], row["label"]))
    return rows


def batches(rows, batch_size, shuffle, rng):
    """Buckets by length so that padding stays small."""
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i][0]), i))
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(chunks)
    for chunk in chunks:
        width = max(len(rows[i][0]) for i in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        for r, i in enumerate(chunk):
            ids[r, :len(rows[i][0])] = torch.tensor(rows[i][0])
        labels = torch.tensor([rows[i][1] for i in chunk])
        yield ids, (ids != 0).long(), labels


@torch.no_grad()
def per_exit_accuracy(model, rows, batch_size=128):
    model.eval()
    correct = None
    for ids, mask, labels in batches(rows, batch_size, False, None):
        hits = (model(ids, mask).argmax(-1) == labels).sum(1)
        correct = hits if correct is None else correct + hits
    model.train()
    return [round(c / len(rows), 4) for c in correct.tolist()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--ffn", type=int, default=512)
    p.add_argument("--num-labels", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0, help="stop early (smoke tests)")
    args = p.parse_args()

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    train = read_ids(os.path.join(args.data, "train.jsonl"), args.num_labels)
    calibration = read_ids(os.path.join(args.data, "calibration.jsonl"), args.num_labels)
    dev = read_ids(os.path.join(args.data, "dev.jsonl"), args.num_labels)
    with open(os.path.join(args.data, "tokenizer", "tokenizer.json")) as f:
        vocab_size = len(json.load(f)["model"]["vocab"])
    cfg = TextConfig(vocab_size=vocab_size, layers=args.layers, hidden=args.hidden, ffn=args.ffn,
                     num_labels=args.num_labels)
    model = MultiExitClassifier(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps_per_epoch = (len(train) + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, total, total // 20))
    weights = exit_loss_weights(cfg.layers)
    loss_fn = nn.CrossEntropyLoss(reduction="none")

    os.makedirs(args.run, exist_ok=True)
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    start_epoch, elapsed, history = 0, 0.0, []
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path)
        if ckpt["config"] != cfg.to_dict():
            sys.exit(f"{ckpt_path}: config {ckpt['config']} does not match {cfg.to_dict()}")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        start_epoch, elapsed, history = ckpt["epoch"], ckpt["elapsed"], ckpt["history"]
        rng.setstate(ckpt["rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        print(f"resumed after epoch {start_epoch}", flush=True)
    print(f"{count_parameters(model)} parameters, {len(train)} training rows, "
          f"{steps_per_epoch} steps/epoch", flush=True)

    model.train()
    for epoch in range(start_epoch, args.epochs):
        t0 = time.time()
        seen, running = 0, 0.0
        for step, (ids, mask, labels) in enumerate(batches(train, args.batch, True, rng)):
            logits = model(ids, mask)
            losses = loss_fn(logits.flatten(0, 1), labels.repeat(cfg.layers)).view(cfg.layers, -1)
            loss = (losses.mean(1) * weights).sum()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            seen += len(labels)
            running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
            if step % 100 == 0:
                rate = seen / (time.time() - t0)
                print(f"epoch {epoch + 1} step {step}/{steps_per_epoch} loss {running:.4f} "
                      f"{rate:.0f} samples/s", flush=True)
            if args.max_steps and step + 1 >= args.max_steps:
                break
        elapsed += time.time() - t0
        record = {
            "epoch": epoch + 1,
            "seconds": round(elapsed),
            "calibration": per_exit_accuracy(model, calibration),
            "dev": per_exit_accuracy(model, dev),
        }
        history.append(record)
        print(json.dumps(record), flush=True)
        # Model selection on the calibration split (held out from training; dev is only reported):
        # keep the epoch whose final exit is most accurate there.
        best_so_far = max(h["calibration"][-1] for h in history)
        if record["calibration"][-1] >= best_so_far:
            torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "epoch": epoch + 1,
                        "elapsed": elapsed, "history": history}, os.path.join(args.run, "best.pt.tmp"))
            os.replace(os.path.join(args.run, "best.pt.tmp"), os.path.join(args.run, "best.pt"))
        torch.save({
            "config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "epoch": epoch + 1, "elapsed": elapsed,
            "history": history, "rng": rng.getstate(), "torch_rng": torch.get_rng_state(),
            "args": vars(args),
        }, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        if args.max_steps:
            break
    print(f"done in {elapsed / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
