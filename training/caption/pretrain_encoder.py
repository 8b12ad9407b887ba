"""Pre-trains the captioner's image encoder to say which object covers each cell of its grid
(and which objects the scene holds), from the scene layouts. The caption decoder then trains on
the frozen encoder's cached features, which is far cheaper than training both together on CPU.

Usage: /usr/bin/python3 pretrain_encoder.py --data DIR --out ENCODER.pt [--epochs 6]
"""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn

from model import CaptionConfig, ImageEncoder, warmup_cosine
from train import load_split, pixels

CLASSES = 158


def cell_targets(path, count, grid, size):
    """For each scene, the object covering each grid cell's centre (the one drawn last), else
    CLASSES (background); and the multi-hot set of objects present."""
    cells = torch.full((count, grid * grid), CLASSES, dtype=torch.long)
    present = torch.zeros(count, CLASSES)
    step = size / grid
    with open(path) as f:
        for n, line in enumerate(f):
            if n >= count:
                break
            for cls, x0, y0, x1, y1 in json.loads(line)["objects"]:
                present[n, cls] = 1
                for gy in range(grid):
                    for gx in range(grid):
                        cx, cy = (gx + 0.5) * step, (gy + 0.5) * step
                        if x0 <= cx < x1 and y0 <= cy < y1:
                            cells[n, gy * grid + gx] = cls
    return cells, present


class Pretrainer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.encoder = ImageEncoder(cfg)
        self.cell = nn.Linear(cfg.hidden, CLASSES + 1)
        self.present = nn.Linear(cfg.hidden, CLASSES)

    def forward(self, px):
        memory = self.encoder(px)
        return self.cell(memory), self.present(memory.mean(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    args = p.parse_args()
    with open(os.path.join(args.data, "tokenizer", "tokenizer.json")) as f:
        vocab = len(json.load(f)["model"]["vocab"])
    cfg = CaptionConfig(vocab_size=vocab)
    rows, images = load_split(os.path.join(args.data, "train"), cfg.image_size)
    val_rows, val_images = load_split(os.path.join(args.data, "val"), cfg.image_size)
    for split in ("train", "val"):
        if not os.path.exists(os.path.join(args.data, split, "layouts.jsonl")):
            sys.exit(f"{args.data}/{split}/layouts.jsonl: missing (run dump-layouts.ts)")
    cells, present = cell_targets(os.path.join(args.data, "train", "layouts.jsonl"), len(rows), cfg.grid, cfg.image_size)
    vcells, vpresent = cell_targets(os.path.join(args.data, "val", "layouts.jsonl"), len(val_rows), cfg.grid, cfg.image_size)
    torch.manual_seed(0)
    model = Pretrainer(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = len(rows) // args.batch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, steps * args.epochs, 200))
    # Background cells are most cells: weigh them down so objects drive the loss.
    weight = torch.ones(CLASSES + 1)
    weight[CLASSES] = 0.2
    ce = nn.CrossEntropyLoss(weight=weight)
    bce = nn.BCEWithLogitsLoss()
    started = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(epoch)).tolist()
        epoch_started = time.time()
        for step in range(steps):
            index = sorted(order[step * args.batch:(step + 1) * args.batch])
            cell_logits, present_logits = model(pixels(images, index))
            loss = ce(cell_logits.flatten(0, 1), cells[index].flatten()) + bce(present_logits, present[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.4f} "
                      f"{(step + 1) * args.batch / (time.time() - epoch_started):.0f} img/s", flush=True)
        model.eval()
        with torch.no_grad():
            hits, objects, exact = 0, 0, 0
            for start in range(0, len(val_rows), 100):
                index = list(range(start, min(start + 100, len(val_rows))))
                cl, pl = model(pixels(val_images, index))
                pred = cl.argmax(-1)
                mask = vcells[index] != CLASSES
                hits += (pred[mask] == vcells[index][mask]).sum().item()
                objects += mask.sum().item()
                exact += ((pl > 0).float() == vpresent[index]).all(1).sum().item()
        print(json.dumps({"epoch": epoch + 1, "seconds": round(time.time() - started),
                          "val_object_cell_accuracy": round(hits / objects, 4),
                          "val_exact_object_sets": round(exact / len(val_rows), 4)}), flush=True)
        # Written under a temporary name per epoch; the final name only once every epoch ran,
        # so the recipe never mistakes an interrupted run for a finished one.
        torch.save({"config": cfg.to_dict(), "encoder": model.encoder.state_dict(), "epoch": epoch + 1},
                   args.out + ".partial")
    os.replace(args.out + ".partial", args.out)


if __name__ == "__main__":
    main()
