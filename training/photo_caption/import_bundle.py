"""Rebuilds the PyTorch photo captioner (photo_model.py) from an exported bundle's graphs, so that
a bundle whose training run is gone can still be studied or fine-tuned.

Named initializers ("m.layers.0.q.bias", "layer.kv.bias", "projector.pos") are the state dict's
entries; a linear layer's weight was exported as an anonymous MatMul input (its transpose), found
through the MatMul node's scope ("/layers.0/q/MatMul"). Checked against the bundle's golden.json:
the rebuilt model's full-depth greedy captions of the reference photos must be its tokens.
A bundle exported with exit adapters gives its early heads' retrained LayerNorms but not the
adapters, nor its fill maps: those are the run's adapters.pt and fill-maps.pt.

Usage: /usr/bin/python3 import_bundle.py --bundle models/photo-caption --tflite FILE.tflite
    --golden mobilenet/reference [--out RUN/best.pt]
"""
import argparse
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from PIL import Image

from photo_model import PhotoCaptionConfig, photo_captioner

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "caption"))
sys.path.insert(0, os.path.join(HERE, "..", "mobilenet"))
from model import greedy  # noqa: E402
from mobilenet_v2 import load_mobilenet_v2, to_pixel_values  # noqa: E402


def graph_weights(path):
    """{name: array} of a graph's initializers (external data read), and its MatMul nodes'
    weight inputs by scope: {"/layers.0/q": array (in, out)}."""
    model = onnx.load(path, load_external_data=True)
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    matmuls = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in arrays:
            matmuls[node.name.rsplit("/", 1)[0]] = arrays[node.input[1]]
    return arrays, matmuls


def import_bundle(bundle):
    """The photo captioner of `bundle` (manifest `training.config`) with the graphs' weights."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    cfg = PhotoCaptionConfig(**manifest["training"]["config"])
    model = photo_captioner(cfg)
    state = {}

    def put(name, array):
        if name not in model.state_dict():
            sys.exit(f"{bundle}: the graphs hold {name}, which the model has not")
        state[name] = torch.from_numpy(np.array(array, dtype=np.float32))

    arrays, matmuls = graph_weights(os.path.join(bundle, "embed.onnx"))
    for name in ("tokens.weight", "positions.weight"):
        put(name, arrays["m." + name])
    arrays, matmuls = graph_weights(os.path.join(bundle, "encoder.onnx"))
    for name, value in arrays.items():
        if name.startswith("projector."):
            put("encoder." + name[len("projector."):], value)
    for part in ("cells", "whole"):
        put(f"encoder.{part}.weight", matmuls[f"/projector/{part}"].T)
    for i in range(cfg.layers):
        arrays, matmuls = graph_weights(os.path.join(bundle, f"layer_{i + 1}.onnx"))
        for name, value in arrays.items():
            if name.startswith(f"m.layers.{i}."):
                put(name[2:], value)
        for scope, value in matmuls.items():
            match = re.fullmatch(rf"/layers\.{i}/(q|kv|out|cross_q|cross_out|mlp/mlp\.[02])", scope)
            if match:
                put(f"layers.{i}.{match.group(1).replace('mlp/', '')}.weight", value.T)
        arrays, matmuls = graph_weights(os.path.join(bundle, f"cross_kv_{i + 1}.onnx"))
        put(f"layers.{i}.cross_kv.bias", arrays["layer.cross_kv.bias"])
        put(f"layers.{i}.cross_kv.weight", matmuls["/cross_kv"].T)
    missing = sorted(set(model.state_dict()) - set(state))
    if missing:
        sys.exit(f"{bundle}: no weights found for {', '.join(missing)}")
    model.load_state_dict(state)
    return model.eval(), cfg, manifest


def check_golden(model, cfg, bundle, tflite, golden_dir):
    """The rebuilt model's greedy captions of golden.json's photos against its tokens."""
    with open(os.path.join(bundle, "golden.json")) as f:
        golden = json.load(f)
    backbone = load_mobilenet_v2(tflite).eval()
    pixels = np.stack([np.asarray(Image.open(os.path.join(golden_dir, p)).convert("RGB")) for p in golden["photos"]])
    with torch.no_grad():
        captions = greedy(model, cfg, backbone.features(to_pixel_values(pixels)), max_tokens=cfg.max_length - 1)
    wrong = [p for p, got, want in zip(golden["photos"], captions, golden["tokens"]) if got != want]
    return len(golden["photos"]) - len(wrong), wrong


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bundle", required=True)
    p.add_argument("--tflite", required=True)
    p.add_argument("--golden", required=True, help="the folder of golden.json's photos (training/mobilenet/reference)")
    p.add_argument("--out", help="write the weights as a training run's best.pt here")
    args = p.parse_args()
    for path in (os.path.join(args.bundle, "manifest.json"), args.tflite, args.golden):
        if not os.path.exists(path):
            sys.exit(f"{path}: not found")
    model, cfg, manifest = import_bundle(args.bundle)
    same, wrong = check_golden(model, cfg, args.bundle, args.tflite, args.golden)
    print(f"golden captions reproduced: {same} of {same + len(wrong)}" + (f" (not: {', '.join(wrong)})" if wrong else ""))
    if wrong:
        sys.exit(1)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "record": manifest["training"].get("best"),
                    "history": manifest["training"].get("history", [])}, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
