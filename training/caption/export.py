"""Exports a trained captioner as an early-exit bundle, run layer by layer: encoder.onnx, cross_kv_{i}.onnx (one layer's
   cross-attention keys/values from the image memory, computed once per image and only for the
   layers reached), embed.onnx, layer_{i}.onnx (one decoding step through layer i fused with its
   exit head; past keys/values in, present out), kv_{i}.onnx (layer i's self-attention keys/values
   of given hidden states: fills the positions of tokens that exited below i), tokenizer files,
   manifest.json, golden.json (PyTorch greedy captions and step logits on held-out scenes).
transformers.js' layout of the same weights is made from the bundle by
training/common/export_tjs.py (`pnpm export:tjs`; caption-eval makes it when it needs it).

Usage: /usr/bin/python3 export.py --run RUN --data DATA --out models/caption-beem
"""
import argparse
import json
import os
import shutil
import sys

import torch
from torch import nn

from model import CaptionConfig, Captioner, greedy
from train import MEAN, STD, load_split, pixels

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from bundle_graphs import complete_bundle  # noqa: E402

OPSET = 17


def load_checkpoint(path, data):
    if not os.path.exists(path):
        sys.exit(f"{path}: no checkpoint (run train.py first)")
    ckpt = torch.load(path)
    with open(os.path.join(data, "tokenizer", "tokenizer.json")) as f:
        vocab = len(json.load(f)["model"]["vocab"])
    raw = dict(ckpt["config"])
    raw["channels"] = tuple(raw["channels"])
    cfg = CaptionConfig(**raw)
    if cfg.vocab_size != vocab:
        sys.exit(f"{path}: checkpoint vocabulary {cfg.vocab_size} != tokenizer's {vocab}")
    model = Captioner(cfg)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as error:
        sys.exit(f"{path}: weights do not match config {cfg.to_dict()}: {error}")
    return model.eval(), cfg, ckpt


class Encoder(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.encoder(pixel_values)


class CrossKV(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, memory):
        return self.layer.cross_keys_values(memory)


class SelfKV(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, hidden):
        return self.layer.self_kv(hidden)


class Embed(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, position_ids):
        return self.m.tokens(input_ids) + self.m.positions(position_ids)


class Step(nn.Module):
    """One position through layer i and its exit head."""

    def __init__(self, m, i):
        super().__init__()
        self.m, self.i = m, i

    def forward(self, hidden, past_key, past_value, cross_key, cross_value):
        hidden, k, v = self.m.layers[self.i](hidden, past_key, past_value, cross_key, cross_value)
        return hidden, k, v, self.m.exit_logits(self.i, hidden)


def export(module, args, path, inputs, outputs, axes):
    with torch.enable_grad():
        torch.onnx.export(module.eval(), args, path, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    model, cfg, ckpt = load_checkpoint(os.path.join(args.run, "checkpoint.pt"), args.data)
    os.makedirs(args.out, exist_ok=True)
    H, Dh, D, S = cfg.heads, cfg.head_dim, cfg.hidden, cfg.grid * cfg.grid
    px = torch.randn(2, 3, cfg.image_size, cfg.image_size)
    memory = model.encoder(px).detach()
    hidden = torch.randn(2, 1, D)
    past = torch.randn(2, H, 3, Dh)
    cross = torch.randn(2, H, S, Dh)
    export(Encoder(model), (px,), os.path.join(args.out, "encoder.onnx"), ["pixel_values"], ["memory"],
           {"pixel_values": {0: "batch"}, "memory": {0: "batch"}})
    export(Embed(model), (torch.tensor([[5], [6]]), torch.tensor([[0], [0]])), os.path.join(args.out, "embed.onnx"),
           ["input_ids", "position_ids"], ["hidden"],
           {"input_ids": {0: "batch", 1: "steps"}, "position_ids": {0: "batch", 1: "steps"}, "hidden": {0: "batch", 1: "steps"}})
    for i, layer in enumerate(model.layers):
        n = i + 1
        export(CrossKV(layer), (memory,), os.path.join(args.out, f"cross_kv_{n}.onnx"), ["memory"],
               ["cross_key", "cross_value"],
               {"memory": {0: "batch"}, "cross_key": {0: "batch"}, "cross_value": {0: "batch"}})
        export(SelfKV(layer), (torch.randn(2, 3, D),), os.path.join(args.out, f"kv_{n}.onnx"), ["hidden"],
               ["key", "value"],
               {"hidden": {0: "batch", 1: "positions"}, "key": {0: "batch", 2: "positions"}, "value": {0: "batch", 2: "positions"}})
        export(Step(model, i), (hidden, past, past, cross, cross), os.path.join(args.out, f"layer_{n}.onnx"),
               ["hidden", "past_key", "past_value", "cross_key", "cross_value"],
               ["hidden_out", "present_key", "present_value", "logits"],
               {"hidden": {0: "batch"}, "past_key": {0: "batch", 2: "past"}, "past_value": {0: "batch", 2: "past"},
                "cross_key": {0: "batch"}, "cross_value": {0: "batch"}, "hidden_out": {0: "batch"},
                "present_key": {0: "batch", 2: "total"}, "present_value": {0: "batch", 2: "total"},
                "logits": {0: "batch"}})
    model.eval()

    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.data, "tokenizer", name), os.path.join(args.out, name))
    val_rows, val_images = load_split(os.path.join(args.data, "val"), cfg.image_size)
    index = list(range(8))
    golden_px = pixels(val_images, index)
    captions = greedy(model, cfg, golden_px)
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump({"source": "PyTorch greedy, full depth, val scenes 0-7 (seed 2) at 96x96",
                   "scenes": [val_rows[i]["id"] for i in index], "tokens": captions}, f)
    history = ckpt["state"]["history"]
    manifest = {
        "format": "beem-bundle",
        "formatVersion": 1,
        "id": "caption-beem",
        "task": "image-captioning",
        "numExits": cfg.layers,
        "hiddenSize": D,
        "heads": H,
        "headDim": Dh,
        "vocabSize": cfg.vocab_size,
        "memoryLength": S,
        "maxLength": cfg.max_length,
        "tokens": {"pad": cfg.pad_id, "bos": cfg.bos_id, "eos": cfg.eos_id},
        "image": {"size": cfg.image_size, "resize": "fill", "mean": [MEAN] * 3, "std": [STD] * 3,
                  "background": [255, 255, 255]},
        "tokenizer": {"file": "tokenizer.json", "config": "tokenizer_config.json"},
        "graphs": {
            "encoder": {"file": "encoder.onnx", "inputs": ["pixel_values"], "outputs": ["memory"]},
            "embed": {"file": "embed.onnx", "inputs": ["input_ids", "position_ids"], "outputs": ["hidden"]},
            "layers": [{"step": f"layer_{n}.onnx", "crossKv": f"cross_kv_{n}.onnx", "kv": f"kv_{n}.onnx"}
                       for n in range(1, cfg.layers + 1)],
        },
        "training": {"config": cfg.to_dict(), "targets": ckpt["state"].get("targets", "all"),
                     "epochs": ckpt["state"]["epoch"],
                     "trainingSeconds": round(ckpt["state"]["elapsed"]), "history": history},
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    complete_bundle(args.out)
    print(f"exported {cfg.layers} layers and the fused graphs to {args.out}; golden: {captions[:2]}")


if __name__ == "__main__":
    main()
