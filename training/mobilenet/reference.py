"""Reference figures for the rebuilt MobileNetV2: the uint8 TFLite file run by Arm NN's reference
backend (armnn_runner.py) on the coral photos, each resized as PIL does: .convert("RGB").resize((224, 224),
BILINEAR). Writes, into --out:

  <photo>.png     the 224x224 RGB pixels the reference saw (lossless, so a runtime given this
                  image needs no resampling)
  reference.json  per photo all 1,001 uint8 scores and the top 3, and the output's scale and
                  zero point

and prints each photo's top 3 as the shared reference-top3.txt does.

Usage: python3 reference.py [--tflite FILE] [--photos DIR] [--out DIR]
Needs Debian's Arm NN: apt-get install python3-pyarmnn libarmnntfliteparser22.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
from PIL import Image

from armnn_runner import VERSION, ArmNN
from reference_files import REFERENCE_DIR, ROOT, SIZE, TFLITE, read_labels, short_label

PHOTOS = os.path.join(ROOT, "..", "shared", "data", "photos", "coral")


def photo_pixels(path):
    """A photo as the reference sees it: RGB, 224x224, PIL's bilinear resize, uint8 [H, W, 3]."""
    return np.asarray(Image.open(path).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR), dtype=np.uint8)


def top3(scores, labels):
    """The three best classes, ties in np.argsort's order (as tflite_reference.py breaks them)."""
    return [{"index": int(i), "label": short_label(labels[i]), "score": int(scores[i])}
            for i in np.argsort(-scores.astype(np.float32))[:3]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflite", default=TFLITE)
    parser.add_argument("--photos", default=PHOTOS)
    parser.add_argument("--out", default=REFERENCE_DIR)
    args = parser.parse_args()
    labels = read_labels(os.path.dirname(args.tflite))
    names = sorted(f for f in os.listdir(args.photos) if f.lower().endswith((".png", ".jpg", ".jpeg")))
    net = ArmNN(args.tflite)
    info = net.outputs[0][1]
    os.makedirs(args.out, exist_ok=True)
    photos = []
    for name in names:
        pixels = photo_pixels(os.path.join(args.photos, name))
        png = os.path.splitext(name)[0] + ".png"
        Image.fromarray(pixels).save(os.path.join(args.out, png))
        scores = net(pixels)[0].reshape(-1)
        best = top3(scores, labels)
        photos.append({"name": name, "png": png, "top3": best, "scores": [int(s) for s in scores]})
        print(name, [(t["label"], t["score"]) for t in best], flush=True)
    with open(args.tflite, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    head = {"model": os.path.basename(args.tflite), "sha256": sha256, "runtime": VERSION,
            "resize": "PIL .convert('RGB').resize((224, 224), Image.BILINEAR)",
            "output": {"scale": info.GetQuantizationScale(), "zero_point": info.GetQuantizationOffset()}}
    # One photo a line: the figures stay readable and diffable.
    text = json.dumps(head, indent=1)[:-2] + ',\n "photos": [\n'
    text += ",\n".join("  " + json.dumps(p) for p in photos) + "\n ]\n}\n"
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        f.write(text)
    print(f"wrote {len(photos)} photos to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
