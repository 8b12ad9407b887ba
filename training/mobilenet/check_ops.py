"""Checks the parse op by op against Arm NN: every op of the rebuilt network, fed the reference's own
input tensors, must give the reference's output tensor on the uint8 grid. Arm NN runs the TFLite
file once per photo with every op's output made a graph output (tflite_reader.with_outputs); each
op of ours computes in float64 from Arm NN's dequantised inputs and rounds to its output's grid.

End to end (check.py) the fake-quant network drifts further than this: a value that falls within
a rounding error of a tie (x.5 steps) may round either way, and one step of a coarse tensor moves
everything after it. Here each op starts from the reference's inputs, so such flips cannot spread:
a value may differ by one step only where it lies within TIE of a tie, which this script counts
and exits 1 on anything else.

Also prints how far the float network's own feature map lies from the reference's (the
quantisation noise of the uint8 network, which the float one does not have).

Usage: python3 check_ops.py [--tflite FILE] [--reference DIR] [--photos N]   (about 5 s a photo)
Needs Arm NN (armnn_runner.py).
"""
import argparse
import sys
import tempfile

import numpy as np
import torch

from armnn_runner import ArmNN
from check import reference_pixels
from mobilenet_v2 import load_mobilenet_v2, to_pixel_values
from reference_files import REFERENCE_DIR, TFLITE, read_reference
from tflite_reader import TFLiteError, read_tflite, with_outputs

TIE = 1e-3  # in output steps: how near x.5 a value rounding the other way may lie


def tapped_runner(path, outputs):
    """Arm NN on the file at `path` made to output the tensors `outputs`."""
    with open(path, "rb") as f:
        data = with_outputs(f.read(), outputs)
    with tempfile.NamedTemporaryFile(suffix=".tflite") as tmp:
        tmp.write(data)
        tmp.flush()
        return ArmNN(tmp.name)


def check_photo(float_net, grids, tensors, net, pixels):
    """For one photo: values compared, values that differ, the largest |difference| in steps, the
    farthest from a tie among them; and how the float network's own feature map compares with the
    reference's (cosine, relative difference)."""
    by_name = dict(zip(net.names, net(pixels)))

    def reference(index):
        """Arm NN's tensor `index`, dequantised, NCHW."""
        t = tensors[index]
        scale, zero_point, _, _ = t.grid()
        a = (by_name[t.name].astype(np.float64) - zero_point) * scale
        return torch.from_numpy(a.transpose(0, 3, 1, 2) if a.ndim == 4 else a)

    x = to_pixel_values(pixels).double()
    compared = differ = worst = 0
    farthest = 0.0
    for op, (scale, zero_point, lo, hi) in zip(list(float_net.blocks) + list(float_net.head), grids):
        with torch.no_grad():
            y = op(*(x if i == float_net.input else reference(i) for i in op.inputs)).numpy() / scale + zero_point
        ours = np.clip(np.round(y), lo, hi)
        theirs = np.round(reference(op.output).numpy() / scale + zero_point)
        bad = ours != theirs
        compared += bad.size
        differ += int(bad.sum())
        if bad.any():
            worst = max(worst, float(np.abs(ours - theirs).max()))
            farthest = max(farthest, float(np.abs(np.abs(y - np.floor(y)) - 0.5)[bad].max()))
    with torch.no_grad():
        ours = float_net.features(x).flatten()
    theirs = reference(float_net.features_index).flatten()
    cosine = float(ours @ theirs / ours.norm() / theirs.norm())
    relative = float((ours - theirs).norm() / theirs.norm())
    return compared, differ, worst, farthest, cosine, relative


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflite", default=TFLITE)
    parser.add_argument("--reference", default=REFERENCE_DIR)
    parser.add_argument("--photos", type=int, default=None, help="check the first N reference photos only")
    args = parser.parse_args()
    try:
        model = read_tflite(args.tflite)
        float_net = load_mobilenet_v2(args.tflite).double()
        quant_net = load_mobilenet_v2(args.tflite, fake_quant=True)
        photos = read_reference(args.reference)["photos"][:args.photos]
        batch = reference_pixels(args.reference, photos)
    except (TFLiteError, OSError, ValueError) as error:
        print(f"check_ops.py: {error}", file=sys.stderr)
        return 1
    if len({t.name for t in model.tensors}) != len(model.tensors):
        print("check_ops.py: tensor names are not unique, so Arm NN's outputs cannot be told apart", file=sys.stderr)
        return 1
    ops = list(float_net.blocks) + list(float_net.head)
    grids = [op.grid for op in list(quant_net.blocks) + list(quant_net.head)]
    net = tapped_runner(args.tflite, [op.output for op in ops])
    failed = False
    for p, pixels in zip(photos, batch):
        compared, differ, worst, farthest, cosine, relative = check_photo(float_net, grids, model.tensors, net, pixels)
        ok = worst <= 1 and farthest <= TIE
        failed |= not ok
        print(f"{p['name']:18} {len(ops)} ops, {compared:,} values: {differ} differ"
              + (f" by {worst:.0f} step, each within {farthest:.1e} steps of a rounding tie" if differ else "")
              + ("" if ok else "  FAILED")
              + f"; float feature map: cosine {cosine:.4f}, relative difference {relative:.3f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
