"""Exports the trained photo captioner as a caption bundle:

- encoder.onnx: pixel_values (B, 3, 224, 224) -> memory (B, 50, hidden): the float MobileNetV2
  rebuilt from the TFLite file (training/mobilenet) and the trained projection;
- image_classifier.onnx: the same MobileNetV2 with its ImageNet head, pixel_values -> scores
  (B, 1001): not run by the captioner; it lets a test check the converted encoder against the
  TFLite reference (its backbone weights are the encoder's, stored once);
- embed.onnx, layer_{i}.onnx, cross_kv_{i}.onnx, kv_{i}.onnx as for the scene captioner
  (training/caption/export.py), then the fused graphs and one weights.bin (bundle_graphs.py);
  the exit heads of layers 1 to L-1 score a shortlist (shortlist.json, --shortlist tokens: those
  the model itself says most often, captioning the training photos at full depth), the rows of
  the same tied embeddings: the full head over the vocabulary costs about as much as a layer,
  the shortlist head a sixth of it. The last layer keeps the full head (full depth is unchanged);
  with --adapters (exit_adapters.py), the early heads get their retrained adapters and LayerNorms
  and the shortlist they were trained for;
- with --fills (fill_maps.py), fill_{e}_{j}.onnx: hidden (B, P, hidden) -> hidden_in, the input of
  skipped layer j predicted from the output of exit e (manifest `graphs.fillMaps`), which
  bundle_graphs.py puts into the `kv_above_{e}` graphs;
- tokenizer files, imagenet_labels.txt, LICENSE-mobilenet-v2 (Apache-2.0), manifest.json,
  golden.json (PyTorch's full-depth greedy captions of the reference photos at 224 x 224).

Usage: /usr/bin/python3 export_photo.py --run RUN --data DATA --tflite FILE.tflite --golden DIR --out models/photo-caption
    [--adapters RUN/adapters.pt] [--fills RUN/fill-maps.pt]
"""
import argparse
from collections import Counter
import glob
import json
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image
from torch import nn

from photo_model import PhotoCaptionConfig, PhotoEncoder, exit_adapters, load_fills, photo_captioner

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "caption"))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
sys.path.insert(0, os.path.join(HERE, "..", "mobilenet"))
from export import CrossKV, Embed, SelfKV, Step, export  # noqa: E402
from model import greedy  # noqa: E402
from bundle_graphs import complete_bundle  # noqa: E402
from mobilenet_v2 import load_mobilenet_v2, to_pixel_values  # noqa: E402


class ShortlistStep(nn.Module):
    """One position through layer i and an exit head over the shortlist's tokens only: the
    layer's exit LayerNorm and the shortlist's rows of the tied token embeddings, after the exit's
    adapter when it has one (exit_adapters.py)."""

    def __init__(self, m, i, shortlist, adapter=None):
        super().__init__()
        self.m, self.i, self.adapter = m, i, adapter
        self.register_buffer("ids", torch.tensor(shortlist))

    def forward(self, hidden, past_key, past_value, cross_key, cross_value):
        hidden, k, v = self.m.layers[self.i](hidden, past_key, past_value, cross_key, cross_value)
        normed = self.m.layers[self.i].ln_exit(hidden if self.adapter is None else self.adapter(hidden))
        return hidden, k, v, normed @ self.m.tokens.weight[self.ids].t()


class FillMap(nn.Module):
    """A skipped layer's input predicted from the exit's hidden state (fill_maps.py)."""

    def __init__(self, U, V):
        super().__init__()
        self.register_buffer("U", U)
        self.register_buffer("V", V if V is not None else torch.eye(U.shape[1]))

    def forward(self, hidden):
        return hidden + (hidden @ self.U[:-1] + self.U[-1]) @ self.V


def load_adapters(path, model, cfg):
    """exit_adapters.py's output: the early exits' adapters (loaded into modules) and retrained
    LayerNorms (loaded into `model`), the shortlist they were trained for, and their record."""
    if not os.path.exists(path):
        sys.exit(f"{path}: no adapters (run exit_adapters.py first)")
    saved = torch.load(path, map_location="cpu")
    adapters = exit_adapters(cfg, saved["rank"])
    try:
        adapters.load_state_dict(saved["adapters"])
        for i, state in saved["ln_exit"].items():
            model.layers[int(i)].ln_exit.load_state_dict(state)
    except (RuntimeError, IndexError) as error:
        sys.exit(f"{path}: adapters do not fit this model ({cfg.to_dict()}): {error}")
    return adapters.eval(), saved["shortlist"], saved.get("shortlistInfo"), saved["record"]


def training_features(data, info, cfg):
    """(B, C, g, g) float32 features of the training photos, whole (variant 0)."""
    v0 = next(v for v in info["variants"] if v["k"] == 0)
    raw = np.fromfile(os.path.join(data, "features-v0.f16"), dtype=np.float16)
    rows = raw.reshape(len(v0["photos"]), cfg.grid * cfg.grid, cfg.features)
    with open(os.path.join(data, "photos.jsonl")) as f:
        split = {p["index"]: p["split"] for p in map(json.loads, f)}
    keep = [r for r, photo in enumerate(v0["photos"]) if split[photo] == "train"]
    x = torch.from_numpy(rows[keep].astype(np.float32)).transpose(1, 2)
    return x.reshape(len(keep), cfg.features, cfg.grid, cfg.grid)


def choose_shortlist(model, cfg, data, info, k, batch=64):
    """The k tokens the model says most often captioning the training photos at full depth
    (the end token first), then the most frequent of the training captions' tokens."""
    features = training_features(data, info, cfg)
    own = Counter()
    with torch.no_grad():
        for s in range(0, len(features), batch):
            for caption in greedy(model, cfg, features[s:s + batch], max_tokens=cfg.max_length - 1):
                own.update(caption)
    refs = Counter()
    with open(os.path.join(data, "photos.jsonl")) as f:
        for p in map(json.loads, f):
            if p["split"] == "train":
                for ids in p["ids"]:
                    refs.update(ids)
    chosen = [cfg.eos_id]
    for counts in (own, refs):
        chosen += [t for t, _ in counts.most_common() if t not in chosen and t >= 3]
    chosen = chosen[:k]
    said = sum(own.values()) + len(features)  # every caption's end token too
    covered = sum(n for t, n in own.items() if t in set(chosen)) + len(features)
    return chosen, {"tokens": len(chosen), "ownDistinct": len(own),
                    "ownCoverage": round(covered / said, 4)}


class Classifier(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, pixel_values):
        return self.backbone(pixel_values)


def load_best(run):
    path = os.path.join(run, "best.pt")
    if not os.path.exists(path):
        sys.exit(f"{path}: no trained model (run train_photo.py first)")
    best = torch.load(path, map_location="cpu")
    cfg = PhotoCaptionConfig(**best["config"])
    model = photo_captioner(cfg)
    model.load_state_dict(best["model"])
    return model.eval(), cfg, best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--tflite", required=True)
    p.add_argument("--golden", required=True, help="folder of 224 x 224 PNG photos for golden.json")
    p.add_argument("--out", required=True)
    p.add_argument("--id", default="photo-caption")
    p.add_argument("--shortlist", type=int, default=512,
                   help="tokens the exit heads of layers 1 to L-1 score (0: the whole vocabulary)")
    p.add_argument("--adapters", help="exit_adapters.py's output: the early exits' adapters, and the shortlist "
                   "they were trained for (instead of --shortlist)")
    p.add_argument("--fills", help="fill_maps.py's output: learned fills of the layers a token skips "
                   "(graphs.fillMaps; without it, the exit's hidden state is copied upwards)")
    p.add_argument("--no-repeat-ngram", type=int, default=3,
                   help="the bundle's decoding default: no n-gram of this size twice in a caption (0: off)")
    p.add_argument("--max-run", type=int, default=2,
                   help="the bundle's decoding default: no token more than this many times in a row (0: off)")
    args = p.parse_args()
    for name in ("no_repeat_ngram", "max_run"):
        if getattr(args, name) < 0:
            sys.exit(f"--{name.replace('_', '-')} {getattr(args, name)}: give 0 (off) or more")
    if args.shortlist < 0 or args.shortlist == 1:
        sys.exit(f"--shortlist {args.shortlist}: give 0 (no shortlist) or at least 2 tokens")
    model, cfg, best = load_best(args.run)
    backbone = load_mobilenet_v2(args.tflite).eval()
    with open(os.path.join(args.data, "data.json")) as f:
        data = json.load(f)
    checkpoint = os.path.join(args.run, "checkpoint.pt")
    if os.path.exists(checkpoint):
        history = torch.load(checkpoint, map_location="cpu")["state"]["history"]
    else:  # a run rebuilt from a bundle (import_bundle.py) keeps the history in best.pt
        history = best.get("history", [])
    adapters, adapter_record = None, None
    if args.adapters:
        adapters, adapter_shortlist, adapter_shortlist_info, adapter_record = load_adapters(args.adapters, model, cfg)
    fills, fill_record = ({}, None) if not args.fills else load_fills(args.fills, cfg)
    os.makedirs(args.out, exist_ok=True)
    for old in glob.glob(os.path.join(args.out, "*.onnx")):
        os.remove(old)
    H, Dh, D, S = cfg.heads, cfg.head_dim, cfg.hidden, cfg.memory_length
    size = data["image"]["size"]
    encoder = PhotoEncoder(backbone, model.encoder).eval()
    px = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        memory = encoder(px)
    hidden = torch.randn(2, 1, D)
    past = torch.randn(2, H, 3, Dh)
    cross = torch.randn(2, H, S, Dh)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    shortlist, shortlist_info = [], None
    if adapters is not None:
        shortlist, shortlist_info = adapter_shortlist, adapter_shortlist_info
        with open(out("shortlist.json"), "w") as f:
            json.dump(shortlist, f)
            f.write("\n")
    elif 0 < args.shortlist < cfg.vocab_size:
        shortlist, shortlist_info = choose_shortlist(model, cfg, args.data, data, args.shortlist)
        with open(out("shortlist.json"), "w") as f:
            json.dump(shortlist, f)
            f.write("\n")
        print(f"shortlist: {shortlist_info}")
    elif os.path.exists(out("shortlist.json")):
        os.remove(out("shortlist.json"))
    export(encoder, (px,), out("encoder.onnx"), ["pixel_values"], ["memory"],
           {"pixel_values": {0: "batch"}, "memory": {0: "batch"}})
    export(Classifier(backbone), (px,), out("image_classifier.onnx"), ["pixel_values"], ["scores"],
           {"pixel_values": {0: "batch"}, "scores": {0: "batch"}})
    export(Embed(model), (torch.tensor([[5], [6]]), torch.tensor([[0], [0]])), out("embed.onnx"),
           ["input_ids", "position_ids"], ["hidden"],
           {"input_ids": {0: "batch", 1: "steps"}, "position_ids": {0: "batch", 1: "steps"},
            "hidden": {0: "batch", 1: "steps"}})
    for i, layer in enumerate(model.layers):
        n = i + 1
        export(CrossKV(layer), (memory.repeat(2, 1, 1),), out(f"cross_kv_{n}.onnx"), ["memory"],
               ["cross_key", "cross_value"],
               {"memory": {0: "batch"}, "cross_key": {0: "batch"}, "cross_value": {0: "batch"}})
        export(SelfKV(layer), (torch.randn(2, 3, D),), out(f"kv_{n}.onnx"), ["hidden"], ["key", "value"],
               {"hidden": {0: "batch", 1: "positions"}, "key": {0: "batch", 2: "positions"},
                "value": {0: "batch", 2: "positions"}})
        step = (Step(model, i) if n == cfg.layers or not shortlist
                else ShortlistStep(model, i, shortlist, None if adapters is None else adapters[i]))
        export(step, (hidden, past, past, cross, cross), out(f"layer_{n}.onnx"),
               ["hidden", "past_key", "past_value", "cross_key", "cross_value"],
               ["hidden_out", "present_key", "present_value", "logits"],
               {"hidden": {0: "batch"}, "past_key": {0: "batch", 2: "past"}, "past_value": {0: "batch", 2: "past"},
                "cross_key": {0: "batch"}, "cross_value": {0: "batch"}, "hidden_out": {0: "batch"},
                "present_key": {0: "batch", 2: "total"}, "present_value": {0: "batch", 2: "total"},
                "logits": {0: "batch"}})
    for (e, i), (U, V) in sorted(fills.items()):
        export(FillMap(U, V), (torch.randn(2, 3, D),), out(f"fill_{e + 1}_{i + 1}.onnx"), ["hidden"], ["hidden_in"],
               {"hidden": {0: "batch", 1: "positions"}, "hidden_in": {0: "batch", 1: "positions"}})
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.data, "tokenizer", name), out(name))
    encoder_dir = os.path.dirname(os.path.abspath(args.tflite))
    shutil.copy(os.path.join(encoder_dir, "imagenet_labels.txt"), out("imagenet_labels.txt"))
    shutil.copy(os.path.join(encoder_dir, "LICENSE"), out("LICENSE-mobilenet-v2"))

    # golden.json: PyTorch's greedy captions of photos already at the model's size (the runtime
    # does not resample them, so both see the same pixels).
    photos = sorted(glob.glob(os.path.join(args.golden, "*.png")))
    if not photos:
        sys.exit(f"{args.golden}: no .png photos for golden.json")
    pixels = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in photos])
    if pixels.shape[1:3] != (size, size):
        sys.exit(f"{args.golden}: golden photos must be {size} x {size}, not {pixels.shape[1:3]}")
    with torch.no_grad():
        # greedy() runs the model's own encoder (the projector) on what it is given: features.
        features = backbone.features(to_pixel_values(pixels))
        captions = greedy(model, cfg, features, max_tokens=cfg.max_length - 1)
    with open(out("golden.json"), "w") as f:
        json.dump({"source": f"PyTorch greedy, full depth, {size} x {size} PNGs of {args.golden}",
                   "photos": [os.path.basename(f) for f in photos], "tokens": captions}, f)
        f.write("\n")

    manifest = {
        "format": "beem-bundle",
        "formatVersion": 1,
        "id": args.id,
        "task": "image-captioning",
        "numExits": cfg.layers,
        "hiddenSize": D,
        "heads": H,
        "headDim": Dh,
        "vocabSize": cfg.vocab_size,
        "memoryLength": S,
        "maxLength": cfg.max_length,
        "tokens": {"pad": cfg.pad_id, "bos": cfg.bos_id, "eos": cfg.eos_id},
        "image": data["image"],
        "generation": {"noRepeatNgram": args.no_repeat_ngram, "maxRun": args.max_run},
        "tokenizer": {"file": "tokenizer.json", "config": "tokenizer_config.json"},
        "graphs": {
            "encoder": {"file": "encoder.onnx", "inputs": ["pixel_values"], "outputs": ["memory"]},
            "embed": {"file": "embed.onnx", "inputs": ["input_ids", "position_ids"], "outputs": ["hidden"]},
            "layers": [{"step": f"layer_{n}.onnx", "crossKv": f"cross_kv_{n}.onnx", "kv": f"kv_{n}.onnx",
                        **({"shortlist": "shortlist.json"} if shortlist and n < cfg.layers else {})}
                       for n in range(1, cfg.layers + 1)],
            "imageClassifier": {"file": "image_classifier.onnx", "labels": "imagenet_labels.txt"},
            **({"fillMaps": [{"exit": e + 1, "layer": i + 1, "file": f"fill_{e + 1}_{i + 1}.onnx"}
                             for e, i in sorted(fills)]} if fills else {}),
        },
        "training": {
            "config": cfg.to_dict(),
            "data": {k: data[k] for k in ("splits", "textOnly", "vocabSize", "calibrationMod")},
            "variants": [{k: v[k] for k in ("k", "name")} for v in data["variants"]],
            "best": best["record"],
            **({"shortlist": shortlist_info} if shortlist_info else {}),
            **({"exitAdapters": adapter_record} if adapter_record else {}),
            **({"fillMaps": fill_record} if fill_record else {}),
            "history": history,
        },
    }
    with open(out("manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    complete_bundle(args.out)
    print(f"exported {cfg.layers} layers, the encoder and the fused graphs to {args.out}; golden: {captions[:2]}")


if __name__ == "__main__":
    main()
