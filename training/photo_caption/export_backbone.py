"""Exports the float MobileNetV2 rebuilt from the TFLite file (training/mobilenet) as ONNX:
pixel_values (B, 3, 224, 224) -> features (B, 1280, 7, 7), the map the captioner attends to.
prepare-data.ts caches every photo's features through this graph in onnxruntime-node, so the
decoder trains on exactly what the bundle's encoder graph computes.

Usage: /usr/bin/python3 export_backbone.py --tflite mobilenet_v2_1.0_224_quant.tflite --out backbone.onnx
"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mobilenet"))
from mobilenet_v2 import load_mobilenet_v2  # noqa: E402

OPSET = 17


class Features(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, pixel_values):
        return self.backbone.features(pixel_values)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tflite", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    backbone = load_mobilenet_v2(args.tflite)
    tmp = args.out + ".tmp"
    torch.onnx.export(Features(backbone).eval(), (torch.zeros(1, 3, 224, 224),), tmp,
                      input_names=["pixel_values"], output_names=["features"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "features": {0: "batch"}}, opset_version=OPSET)
    os.replace(tmp, args.out)
    print(f"{args.out}: MobileNetV2 features, {sum(q.numel() for q in backbone.parameters())} parameters")


if __name__ == "__main__":
    main()
