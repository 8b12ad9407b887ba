"""Exports a trained checkpoint to the layer-by-layer ONNX bundle the text runtime runs.

Writes into OUT: embeddings.onnx, layer_1.onnx .. layer_L.onnx (each layer fused with its exit
head: (hidden, attention_mask) -> (hidden_out, logits)), tokenizer files, manifest.json (without
costs: measure-costs.ts adds them), golden.json (PyTorch outputs on a few inputs, which the tests
compare onnxruntime-node against), and exit logs of the calibration and dev splits in the
`beem` command's format.

Usage: /usr/bin/python3 export.py --run RUN_DIR --data DATA_DIR --out models/sst2-beem
"""
import argparse
import json
import os
import shutil
import sys

import torch

from model import MultiExitClassifier, TextConfig
from train import batches, read_ids

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from bundle_graphs import complete_bundle  # noqa: E402

OPSET = 17


def load_checkpoint(path, data_dir):
    if not os.path.exists(path):
        sys.exit(f"{path}: no checkpoint (run train.py first)")
    ckpt = torch.load(path)
    with open(os.path.join(data_dir, "tokenizer", "tokenizer.json")) as f:
        vocab_size = len(json.load(f)["model"]["vocab"])
    cfg = TextConfig(**ckpt["config"])
    if cfg.vocab_size != vocab_size:
        sys.exit(f"{path}: checkpoint vocabulary {cfg.vocab_size} != tokenizer's {vocab_size}; "
                 "was it trained with this tokenizer?")
    model = MultiExitClassifier(cfg)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as error:
        sys.exit(f"{path}: weights do not match config {cfg.to_dict()}: {error}")
    model.eval()
    return model, cfg, ckpt


class EmbeddingsGraph(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.embeddings = model.embeddings

    def forward(self, input_ids):
        return self.embeddings(input_ids)


def export_graphs(model, cfg, out):
    ids = torch.tensor([[2, 10, 11, 12, 3], [2, 20, 3, 0, 0]])
    mask = (ids != 0).long()
    # Exported with grad enabled: TransformerEncoderLayer's inference fast path does not export.
    with torch.enable_grad():
        torch.onnx.export(
            EmbeddingsGraph(model).eval(), (ids,), os.path.join(out, "embeddings.onnx"),
            input_names=["input_ids"], output_names=["hidden"], opset_version=OPSET,
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "hidden": {0: "batch", 1: "sequence"}},
        )
        hidden = model.embeddings(ids).detach()
        for i, layer in enumerate(model.layers, 1):
            torch.onnx.export(
                layer, (hidden, mask), os.path.join(out, f"layer_{i}.onnx"),
                input_names=["hidden", "attention_mask"], output_names=["hidden_out", "logits"],
                opset_version=OPSET,
                dynamic_axes={
                    "hidden": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "hidden_out": {0: "batch", 1: "sequence"},
                    "logits": {0: "batch"},
                },
            )


@torch.no_grad()
def golden(model, rows, count=6):
    """PyTorch's per-exit logits on a few calibration inputs of different lengths, batch 1."""
    chosen = sorted(rows, key=lambda r: len(r[0]))[:: max(1, len(rows) // count)][:count]
    out = []
    for ids, label in chosen:
        t = torch.tensor([ids])
        logits = model(t, torch.ones_like(t))[:, 0, :]
        out.append({"ids": ids, "label": label, "logits": logits.tolist()})
    return out


@torch.no_grad()
def exit_log(model, rows, path):
    """One line per input in the beem command's format: label and every exit's probabilities."""
    lines = [None] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i][0]), i))
    for start in range(0, len(order), 64):
        chunk = order[start:start + 64]
        sub = [rows[i] for i in chunk]
        ids, mask, labels = next(batches(sub, len(sub), False, None))
        probs = model(ids, mask).softmax(-1).transpose(0, 1)
        for k, i in enumerate(chunk):
            exits = [[round(p, 6) for p in e] for e in probs[k].tolist()]
            lines[i] = json.dumps({"label": rows[i][1], "exits": exits}, separators=(",", ":"))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--id", default="sst2-beem", help="the bundle's id (manifest)")
    p.add_argument("--labels", default="negative,positive", help="label names, comma-separated, label 0 first")
    args = p.parse_args()
    labels = args.labels.split(",")
    model, cfg, ckpt = load_checkpoint(os.path.join(args.run, "best.pt"), args.data)
    if len(labels) != cfg.num_labels:
        raise SystemExit(f"--labels names {len(labels)} labels but the model has {cfg.num_labels}")
    os.makedirs(args.out, exist_ok=True)
    export_graphs(model, cfg, args.out)
    model.eval()  # export restores each exported module's previous mode; make sure of eval
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.data, "tokenizer", name), os.path.join(args.out, name))
    calibration = read_ids(os.path.join(args.data, "calibration.jsonl"), cfg.num_labels)
    dev = read_ids(os.path.join(args.data, "dev.jsonl"), cfg.num_labels)
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump({"source": "PyTorch, batch 1, no padding", "inputs": golden(model, calibration)}, f)
    exit_log(model, calibration, os.path.join(args.out, "calibration-exits.jsonl"))
    exit_log(model, dev, os.path.join(args.out, "dev-exits.jsonl"))
    history = ckpt["history"][ckpt["epoch"] - 1]
    manifest = {
        "format": "beem-bundle",
        "formatVersion": 1,
        "id": args.id,
        "task": "text-classification",
        "labels": labels,
        "numExits": cfg.layers,
        "maxLength": cfg.max_length,
        "hiddenSize": cfg.hidden,
        "tokenizer": {"file": "tokenizer.json", "config": "tokenizer_config.json", "padId": cfg.pad_id},
        "graphs": {
            "embeddings": {"file": "embeddings.onnx", "inputs": ["input_ids"], "outputs": ["hidden"]},
            "layers": [
                {"file": f"layer_{i}.onnx", "inputs": ["hidden", "attention_mask"],
                 "outputs": ["hidden_out", "logits"]}
                for i in range(1, cfg.layers + 1)
            ],
        },
        "calibrationLog": "calibration-exits.jsonl",
        "training": {
            "config": cfg.to_dict(),
            "epochsRun": ckpt["history"][-1]["epoch"],
            "selectedEpoch": ckpt["epoch"],
            "selection": "final-exit accuracy on the calibration split",
            "trainingSeconds": ckpt["history"][-1]["seconds"],
            "exitAccuracy": {"calibration": history["calibration"], "dev": history["dev"]},
        },
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    complete_bundle(args.out)
    print(f"exported {cfg.layers} layers and the fused encoder to {args.out}")


if __name__ == "__main__":
    main()
