"""Converts a Hugging Face ViT + GPT-2 captioner (VisionEncoderDecoder, e.g.
vit-gpt2-image-captioning, downloaded to a local folder) into a BEEM caption bundle:

1. reads and checks the checkpoint (hf_io.py) and builds it in PyTorch (hf_model.py);
2. captions the unlabelled --images at full depth; the shortlist is the K tokens those captions
   use most (the end token always included), topped up with the lowest token ids (GPT-2's BPE
   numbers its merges roughly by frequency);
3. adds an exit head after every decoder layer but the last (a LayerNorm and a projection onto
   the shortlist, initialised from the model's own final layer norm and token embeddings) and
   trains the heads with the whole model frozen, by distillation from the last layer's
   distribution (restricted to the shortlist) on the images' full-depth captions, teacher
   forced; a quarter of the images is held back for calibration. The last layer keeps the full
   vocabulary: full depth is exactly the original model;
4. exports the bundle (encoder, per-layer step / key-value / cross-key-value graphs, the fused
   full-depth graphs, the tokenizer files as shipped, preprocessing as preprocessor_config.json
   says, golden.json: the reference implementation's greedy tokens on a few images) to a
   temporary folder;
5. measures per-layer costs, logs every exit per generated token of the held-back images with
   the full-depth token as the label, and fits the default policy (BEEM-A) with the bundle's own
   runtime (training/common/calibrate-captions.ts);
6. renames the folder to --out: an interrupted conversion leaves nothing half-written.

Usage: python3 convert.py --hf DIR --out DIR [--images DIR] [--shortlist 2048] [--epochs 3]
       [--lambda 0.01] [--max-images N] [--no-distill] [--seed 0]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import torch
from torch import nn

from hf_io import ConvertError, load_model, read_side_files

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
from bundle_graphs import BundleError, complete_bundle  # noqa: E402
from hf_files import conversion  # noqa: E402

OPSET = 17
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
RESAMPLE = {1: "lanczos", 2: "bilinear", 3: "bicubic"}


def log(message):
    print(message, file=sys.stderr, flush=True)


# Images ---------------------------------------------------------------------------------------

def image_files(folder):
    if not os.path.isdir(folder):
        raise ConvertError(f"{folder}: --images must be a folder of images")
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))
    return files


def load_pixels(files, pre, size):
    """pixel_values as the Hugging Face ViT image processor makes them: RGB, resized to size x size
    with the processor's resampling (PIL), rescaled by 1/255, normalised. Unreadable files are
    skipped with a warning."""
    from PIL import Image

    resample = pre.get("resample", 2)
    mean = np.array(pre.get("image_mean", [0.5] * 3), dtype=np.float32)
    std = np.array(pre.get("image_std", [0.5] * 3), dtype=np.float32)
    arrays, kept = [], []
    for path in files:
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
                if im.size != (size, size):
                    im = im.resize((size, size), resample=resample)
                a = np.asarray(im, dtype=np.float32) / 255.0
        except Exception as error:  # PIL raises many types for unreadable files
            log(f"warning: {path}: skipped, not a readable image ({error})")
            continue
        arrays.append(((a - mean) / std).transpose(2, 0, 1))
        kept.append(path)
    if not arrays:
        raise ConvertError(f"no readable image among {len(files)} files")
    return torch.from_numpy(np.stack(arrays)), kept


# The model with exit heads ----------------------------------------------------------------------

class ExitHeads(nn.Module):
    """After each decoder layer but the last: a LayerNorm and a projection onto the shortlist."""

    def __init__(self, model, shortlist):
        super().__init__()
        t = model.decoder.transformer
        d, n = t.wte.weight.shape[1], len(t.h) - 1
        ids = torch.tensor(shortlist)
        self.norms = nn.ModuleList(nn.LayerNorm(d, eps=t.ln_f.eps) for _ in range(n))
        self.projections = nn.ModuleList(nn.Linear(d, len(shortlist), bias=False) for _ in range(n))
        with torch.no_grad():
            for norm, proj in zip(self.norms, self.projections):
                norm.load_state_dict(t.ln_f.state_dict())
                proj.weight.copy_(t.wte.weight[ids])

    def forward(self, i, hidden):
        return self.projections[i](self.norms[i](hidden))


def exit_logits(model, heads, i, hidden):
    return heads(i, hidden) if i < len(model.blocks) - 1 else model.final_logits(hidden)


@torch.no_grad()
def greedy_captions(model, pixel_values, start, eos, max_new, batch=16, reference=False):
    """Full-depth greedy tokens in batches: with caches, or the reference implementation's plain
    recomputation (for golden.json: an independent check of the export)."""
    decode = model.reference_greedy if reference else model.cached_greedy
    out = []
    n = pixel_values.shape[0]
    for s in range(0, n, batch):
        out += decode(pixel_values[s:s + batch], start, eos, max_new)
        if n > batch:
            log(f"  captioned {len(out)}/{n} images")
    return out


def choose_shortlist(captions, k, vocab, eos):
    counts = Counter(t for c in captions for t in c)
    chosen = [eos] + [t for t, _ in counts.most_common() if t != eos]
    chosen = chosen[:k]
    taken = set(chosen)
    for t in range(vocab):
        if len(chosen) >= k:
            break
        if t not in taken:
            chosen.append(t)
            taken.add(t)
    return chosen


@torch.no_grad()
def layer_states(model, states, ids):
    """Hidden states after every decoder layer for a teacher-forced prefix (B x T)."""
    b, t = ids.shape
    h = model.embed(ids, torch.arange(t)[None, :].expand(b, t))
    out = []
    for block in model.blocks:
        empty = h.new_zeros(b, block.attn.heads, 0, h.shape[-1] // block.attn.heads)
        h, _, _ = block(h, empty, empty, *block.crossattention.keys_values(states))
        out.append(h)
    return out


def distill(model, heads, pixel_values, captions, shortlist, start, epochs, seed):
    """Trains the exit heads (model frozen) to match the last layer's distribution over the
    shortlist on the images' own full-depth captions, teacher forced. The frozen model runs once
    per image (its layers' hidden states and the teacher's distribution are kept); the epochs
    then train only the heads. Returns the rates of both phases."""
    torch.manual_seed(seed)
    ids = torch.tensor(shortlist)
    began = time.time()
    features = []
    with torch.no_grad():
        for i, cap in enumerate(captions):
            seq = torch.tensor([[start] + cap])
            hidden = layer_states(model, model.encode(pixel_values[i:i + 1]), seq)
            teacher = torch.softmax(model.final_logits(hidden[-1])[..., ids], dim=-1)
            features.append((hidden[:-1], teacher))
            if (i + 1) % 50 == 0:
                log(f"  frozen model on {i + 1}/{len(captions)} images")
    feature_seconds = time.time() - began
    opt = torch.optim.Adam(heads.parameters(), lr=1e-3)
    steps, began = 0, time.time()
    for epoch in range(epochs):
        total = 0.0
        for r in torch.randperm(len(features)).tolist():
            hidden, teacher = features[r]
            loss = 0.0
            for layer, h in enumerate(hidden):
                loss = loss - (teacher * torch.log_softmax(heads(layer, h), dim=-1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            total += float(loss)
        log(f"distillation epoch {epoch + 1}/{epochs}: mean loss {total / max(1, len(features)):.4f}")
    return {"featureImagesPerSecond": len(features) / max(1e-9, feature_seconds),
            "stepsPerSecond": steps / max(1e-9, time.time() - began)}


# Export -----------------------------------------------------------------------------------------

class Encoder(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.encode(pixel_values)


class CrossKV(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, memory):
        return self.block.crossattention.keys_values(memory)


class SelfKV(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, hidden):
        return self.block.self_kv(hidden)


class Embed(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, position_ids):
        return self.m.embed(input_ids, position_ids)


class Step(nn.Module):
    def __init__(self, m, heads, i):
        super().__init__()
        self.m, self.heads, self.i = m, heads, i

    def forward(self, hidden, past_key, past_value, cross_key, cross_value):
        hidden, k, v = self.m.blocks[self.i](hidden, past_key, past_value, cross_key, cross_value)
        return hidden, k, v, exit_logits(self.m, self.heads, self.i, hidden)


class Head(nn.Module):
    """An exit head alone (for timing it against a layer): shortlist head 1, or the full one."""

    def __init__(self, m, heads, full):
        super().__init__()
        self.m, self.heads, self.full = m, heads, full

    def forward(self, hidden):
        return self.m.final_logits(hidden) if self.full else self.heads(0, hidden)


def export(module, args, path, inputs, outputs, axes):
    with torch.enable_grad():
        torch.onnx.export(module.eval(), args, path, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET)


def export_graphs(model, heads, config, out):
    enc, dec = config["encoder"], config["decoder"]
    H, D = dec["n_head"], dec["n_embd"]
    Dh = D // H
    S = (enc["image_size"] // enc["patch_size"]) ** 2 + 1
    px = torch.randn(2, 3, enc["image_size"], enc["image_size"])
    memory = model.encode(px).detach()
    hidden, past, cross = torch.randn(2, 1, D), torch.randn(2, H, 3, Dh), torch.randn(2, H, S, Dh)
    batch = {0: "batch"}
    export(Encoder(model), (px,), os.path.join(out, "encoder.onnx"), ["pixel_values"], ["memory"],
           {"pixel_values": batch, "memory": batch})
    export(Embed(model), (torch.tensor([[5], [6]]), torch.tensor([[0], [0]])), os.path.join(out, "embed.onnx"),
           ["input_ids", "position_ids"], ["hidden"],
           {n: {0: "batch", 1: "steps"} for n in ("input_ids", "position_ids", "hidden")})
    for i, block in enumerate(model.blocks):
        n = i + 1
        export(CrossKV(block), (memory,), os.path.join(out, f"cross_kv_{n}.onnx"), ["memory"],
               ["cross_key", "cross_value"], {"memory": batch, "cross_key": batch, "cross_value": batch})
        export(SelfKV(block), (torch.randn(2, 3, D),), os.path.join(out, f"kv_{n}.onnx"), ["hidden"],
               ["key", "value"], {"hidden": {0: "batch", 1: "positions"}, "key": {0: "batch", 2: "positions"},
                                  "value": {0: "batch", 2: "positions"}})
        export(Step(model, heads, i), (hidden, past, past, cross, cross), os.path.join(out, f"layer_{n}.onnx"),
               ["hidden", "past_key", "past_value", "cross_key", "cross_value"],
               ["hidden_out", "present_key", "present_value", "logits"],
               {"hidden": batch, "past_key": {0: "batch", 2: "past"}, "past_value": {0: "batch", 2: "past"},
                "cross_key": batch, "cross_value": batch, "hidden_out": batch,
                "present_key": {0: "batch", 2: "total"}, "present_value": {0: "batch", 2: "total"},
                "logits": batch})
    return {"heads": H, "headDim": Dh, "hiddenSize": D, "memoryLength": S}


def macs(config, k):
    """Multiply-adds per generated token: each decoder layer (self-attention projections,
    cross-attention query and output projections, MLP) with its exit head, and the image encoder
    per image (patch embedding and layers)."""
    enc, dec = config["encoder"], config["decoder"]
    D, inner, V = dec["n_embd"], dec.get("n_inner") or 4 * dec["n_embd"], dec["vocab_size"]
    layer = 4 * D * D + 2 * D * D + 2 * D * inner
    E, P = enc["hidden_size"], (enc["image_size"] // enc["patch_size"]) ** 2
    patch = 3 * enc["patch_size"] ** 2 * E * P
    encoder = patch + enc["num_hidden_layers"] * (P + 1) * (4 * E * E + 2 * E * enc["intermediate_size"] + 2 * (P + 1) * E)
    return {"layer": layer, "shortlistHead": D * k, "fullHead": D * V, "encoderPerImage": encoder}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hf", required=True, help="the Hugging Face model folder")
    p.add_argument("--out", required=True, help="the bundle folder to write")
    p.add_argument("--images", help="unlabelled images: shortlist, distillation and calibration")
    p.add_argument("--shortlist", type=int, default=2048, help="tokens the exit heads score (default 2048)")
    p.add_argument("--epochs", type=int, default=3, help="distillation epochs (default 3)")
    p.add_argument("--lambda", dest="lam", type=float, default=0.01, help="default policy's lambda")
    p.add_argument("--max-images", type=int, default=None)
    p.add_argument("--golden", type=int, default=4, help="images whose reference tokens go to golden.json")
    p.add_argument("--no-distill", action="store_true",
                   help="heads as initialised (the model's own final norm and embeddings); no images needed")
    p.add_argument("--id", default=None, help="the bundle's id (default: the --out folder's name)")
    p.add_argument("--head-graphs", action="store_true",
                   help="also export head_shortlist.onnx and head_full.onnx (the heads alone, for benchmarks)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    out = os.path.abspath(args.out)
    with conversion(out, (BundleError,)) as work:
        if args.shortlist < 2:
            raise ConvertError(f"--shortlist {args.shortlist}: give at least 2 tokens")
        if args.images is None and not args.no_distill:
            raise ConvertError("give --images DIR (unlabelled images to distil the exit heads on), or --no-distill")
        parent = os.path.dirname(out) or "."
        os.makedirs(parent, exist_ok=True)
        if not os.access(parent, os.W_OK):
            raise ConvertError(f"{parent}: cannot write there (--out)")
        model, config = load_model(args.hf)
        tokenizer, tconfig, pre, generation = read_side_files(args.hf, config)
        dec, enc = config["decoder"], config["encoder"]
        start = config.get("decoder_start_token_id", generation.get("decoder_start_token_id", dec.get("bos_token_id")))
        eos = config.get("eos_token_id", generation.get("eos_token_id", dec.get("eos_token_id")))
        pad = config.get("pad_token_id", generation.get("pad_token_id", eos))
        if not isinstance(start, int) or not isinstance(eos, int):
            raise ConvertError(f"{args.hf}/config.json: field 'decoder_start_token_id' and 'eos_token_id' must be token ids")
        max_length = min(generation.get("max_length", 20), dec["n_positions"])
        resample = RESAMPLE.get(pre.get("resample", 2))
        if resample is None:
            raise ConvertError(f"{args.hf}/preprocessor_config.json: field 'resample' {pre.get('resample')} is not bilinear (2), bicubic (3) or lanczos (1)")
        V, L = dec["vocab_size"], dec["n_layer"]
        k = min(args.shortlist, V)
        size = enc["image_size"]
        files, pixels, captions = [], None, []
        if args.images is not None:
            files = image_files(args.images)
            if args.max_images is not None:
                files = files[:args.max_images]
            if not files:
                raise ConvertError(f"{args.images}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
            pixels, files = load_pixels(files, pre, size)
            log(f"{len(files)} images; captioning them at full depth")
            captions = greedy_captions(model, pixels, start, eos, max_length - 1)
        shortlist = choose_shortlist(captions, k, V, eos)
        heads = ExitHeads(model, shortlist)
        for prm in model.parameters():
            prm.requires_grad_(False)
        n_cal = 0 if pixels is None else max(1, len(files) // 4)
        distil_rows = len(files) - n_cal
        rates = None
        if not args.no_distill and distil_rows > 0:
            rates = distill(model, heads, pixels[n_cal:], captions[n_cal:], shortlist, start, args.epochs, args.seed)
        heads.eval()
        tmp = work.new()
        log(f"exporting to {tmp}")
        dims = export_graphs(model, heads, config, tmp)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(args.hf, name), os.path.join(tmp, name))
        if args.head_graphs:
            h = torch.randn(2, 1, dec["n_embd"])
            for name, full in (("head_shortlist.onnx", False), ("head_full.onnx", True)):
                export(Head(model, heads, full), (h,), os.path.join(tmp, name), ["hidden"], ["logits"],
                       {"hidden": {0: "batch"}, "logits": {0: "batch"}})
        with open(os.path.join(tmp, "shortlist.json"), "w") as f:
            json.dump(shortlist, f)
        golden = {}
        if pixels is not None:
            g = min(args.golden, len(files))
            golden = {"source": "the reference implementation (hf_model.py), greedy, full depth, no caches",
                      "images": [os.path.basename(f) for f in files[:g]],
                      "tokens": greedy_captions(model, pixels[:g], start, eos, max_length - 1, reference=True)}
            with open(os.path.join(tmp, "golden.json"), "w") as f:
                json.dump(golden, f)
        counted = macs(config, k)
        manifest = {
            "format": "beem-bundle", "formatVersion": 1,
            "id": args.id or os.path.basename(out),
            "task": "image-captioning",
            "numExits": L, **dims, "vocabSize": V, "maxLength": max_length,
            "tokens": {"pad": pad, "bos": start, "eos": eos},
            "image": {"size": size, "resize": "fill", "resample": resample,
                      "mean": pre.get("image_mean", [0.5] * 3) if pre.get("do_normalize", True) else [0, 0, 0],
                      "std": pre.get("image_std", [0.5] * 3) if pre.get("do_normalize", True) else [1, 1, 1],
                      "background": [255, 255, 255]},
            "tokenizer": {"file": "tokenizer.json", "config": "tokenizer_config.json"},
            "graphs": {
                "encoder": {"file": "encoder.onnx"},
                "embed": {"file": "embed.onnx"},
                "layers": [{"step": f"layer_{n}.onnx", "crossKv": f"cross_kv_{n}.onnx", "kv": f"kv_{n}.onnx",
                            **({"shortlist": "shortlist.json"} if n < L else {})} for n in range(1, L + 1)],
            },
            **({"benchmarkGraphs": {"shortlistHead": "head_shortlist.onnx", "fullHead": "head_full.onnx"}}
               if args.head_graphs else {}),
            "conversion": {
                "from": os.path.basename(os.path.abspath(args.hf)),
                "shortlist": k, "images": len(files), "calibrationImages": n_cal,
                "distillation": None if args.no_distill else {"epochs": args.epochs, "images": distil_rows, **(rates or {})},
                "multiplyAdds": counted,
            },
        }
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        complete_bundle(tmp)
        if n_cal > 0:
            listing = os.path.join(tmp, ".calibration-images.txt")
            with open(listing, "w") as f:
                f.write("\n".join(files[:n_cal]) + "\n")
            cmd = ["pnpm", "exec", "tsx", os.path.join(ROOT, "training", "common", "calibrate-captions.ts"), tmp,
                   "--images", listing, "--lambda", str(args.lam)]
            log("calibrating: " + " ".join(cmd))
            done = subprocess.run(cmd, cwd=ROOT)
            os.remove(listing)
            if done.returncode != 0:
                raise ConvertError("calibration failed (see above)")
        work.finish()
        share = counted["shortlistHead"] / counted["layer"]
        log(f"wrote {out}: {L} exits, shortlist heads of {k} tokens ({share:.1%} of a layer's multiply-adds; "
            f"the full head is {counted['fullHead'] / counted['layer']:.1%})")


if __name__ == "__main__":
    main()
