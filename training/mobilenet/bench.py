"""How long `features` takes per image on this machine, at batch 1 and batch 32 (median of
repeated runs after a warm-up, torch's intra-op threads as OMP_NUM_THREADS sets them): wall-clock
time, and the process's CPU time (all threads), which other processes on a shared machine
inflate less. Also the parameter counts of the backbone (`blocks`, up to the feature map) and of
the classifier head.

Usage: OMP_NUM_THREADS=2 python3 bench.py [--tflite FILE] [--repeats N]
"""
import argparse
import statistics
import sys
import time

import torch

from mobilenet_v2 import load_mobilenet_v2
from reference_files import SIZE, TFLITE
from tflite_reader import TFLiteError


def parameters(module):
    return sum(p.numel() for p in module.parameters())


def ms_per_image(model, batch, repeats):
    """(wall-clock, CPU) milliseconds per image of model.features, medians over `repeats` runs."""
    x = torch.rand(batch, 3, SIZE, SIZE) * 2 - 1
    wall, cpu = [], []
    with torch.no_grad():
        model.features(x)  # warm-up
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            model.features(x)
            wall.append((time.perf_counter() - start) * 1000 / batch)
            cpu.append((time.process_time() - start_cpu) * 1000 / batch)
    return statistics.median(wall), statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflite", default=TFLITE)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    try:
        model = load_mobilenet_v2(args.tflite)
    except TFLiteError as error:
        print(f"bench.py: {error}", file=sys.stderr)
        return 1
    print(f"parameters: backbone (blocks) {parameters(model.blocks):,}, head {parameters(model.head):,}, "
          f"total {parameters(model):,}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for batch in (1, 32):
        wall, cpu = ms_per_image(model, batch, args.repeats)
        print(f"features, batch {batch}: {wall:.1f} ms per image ({cpu:.1f} ms CPU time)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
