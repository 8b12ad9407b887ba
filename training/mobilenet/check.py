"""Checks the rebuilt MobileNetV2 against the committed reference figures (reference.py): the float
network and the fake-quant one on each reference PNG, their top-1 against the reference's, and
the largest difference over the 1,001 scores from the reference's dequantised uint8 scores, in
units of the output's quantisation step (1/256). Exits 1 when a top-1 differs; a missing or
damaged file is one line on stderr and exit 1.

Usage: python3 check.py [--tflite FILE] [--reference DIR] [--json] [--onnx OUT.onnx]
  --onnx  also exports the float classifier (pixel_values [B, 3, 224, 224] -> scores [B, 1001],
          opset 17, batch dimension dynamic) and checks the file with onnx.checker.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

from mobilenet_v2 import load_mobilenet_v2, to_pixel_values
from reference_files import REFERENCE_DIR, SIZE, TFLITE, read_labels, read_reference, short_label
from tflite_reader import TFLiteError

MODES = ("float", "fake_quant")


def reference_pixels(folder, photos):
    """The reference PNGs as one uint8 batch [N, 224, 224, 3]."""
    batch = []
    for p in photos:
        path = os.path.join(folder, p["png"])
        image = Image.open(path)
        if image.mode != "RGB" or image.size != (SIZE, SIZE):
            raise ValueError(f"{path}: expected a {SIZE}x{SIZE} RGB image, found {image.mode} {image.size}")
        batch.append(np.asarray(image))
    return np.stack(batch)


def compare(tflite, folder):
    """Per photo and mode: top-1 index and max |score - reference| in output steps."""
    reference = read_reference(folder)
    scale, zero_point = reference["output"]["scale"], reference["output"]["zero_point"]
    x = to_pixel_values(reference_pixels(folder, reference["photos"]))
    scores = {}
    for mode in MODES:
        with torch.no_grad():
            scores[mode] = load_mobilenet_v2(tflite, fake_quant=mode == "fake_quant")(x).numpy()
    rows = []
    for i, p in enumerate(reference["photos"]):
        ref = scale * (np.asarray(p["scores"], np.float64) - zero_point)
        row = {"name": p["name"], "reference_top1": p["top3"][0]["index"]}
        for mode in MODES:
            s = scores[mode][i].astype(np.float64)
            row[mode] = {"top1": int(np.argsort(-s)[0]), "max_steps": float(np.abs(s - ref).max() / scale)}
        rows.append(row)
    return rows


def export_onnx(tflite, path):
    """The float classifier as ONNX (opset 17), checked by onnx.checker."""
    import onnx

    model = load_mobilenet_v2(tflite)
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), path, opset_version=17,
                      input_names=["pixel_values"], output_names=["scores"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "scores": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path), full_check=True)


def print_table(rows, labels):
    print(f"{'photo':18} {'reference top-1':22} {'float top-1':22} {'steps':>6} {'fake-quant top-1':22} {'steps':>6}")
    for r in rows:
        cells = [f"{r['name']:18}", f"{short_label(labels[r['reference_top1']])[:22]:22}"]
        for mode in MODES:
            cells += [f"{short_label(labels[r[mode]['top1']])[:22]:22}", f"{r[mode]['max_steps']:6.2f}"]
        print(" ".join(cells))
    for mode in MODES:
        same = sum(r[mode]["top1"] == r["reference_top1"] for r in rows)
        worst = max(r[mode]["max_steps"] for r in rows)
        print(f"{mode}: top-1 equal on {same}/{len(rows)}, max difference {worst:.2f} output steps")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflite", default=TFLITE)
    parser.add_argument("--reference", default=REFERENCE_DIR)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--onnx", help="export the float classifier to this ONNX file")
    args = parser.parse_args()
    try:
        rows = compare(args.tflite, args.reference)
        labels = None if args.json else read_labels(os.path.dirname(args.tflite))
        if args.onnx:
            export_onnx(args.tflite, args.onnx)
    except (TFLiteError, OSError, ValueError) as error:
        print(f"check.py: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"photos": rows}))
    else:
        print_table(rows, labels)
        if args.onnx:
            print(f"wrote {args.onnx} (onnx.checker: valid)")
    return 0 if all(r[m]["top1"] == r["reference_top1"] for r in rows for m in MODES) else 1


if __name__ == "__main__":
    sys.exit(main())
