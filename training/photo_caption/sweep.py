"""Trains several decoder configurations on the same cached data and tabulates their best dev
CIDEr-D: how the bundled model's depth, width, vocabulary and pre-training were chosen.

Each configuration is `name=flags` (train_photo.py's flags; `data=DIR` in them swaps the data
folder, e.g. another vocabulary). Runs --parallel at a time (several share a GPU well; on two
CPU cores, run one), each into OUT/name (resumable), then writes OUT/sweep.json and OUT/sweep.md
(each run's best epoch so far, when --max-seconds stopped it).

Usage: /usr/bin/python3 sweep.py --data DIR --out OUT [--parallel 1] "d256-L6=--hidden 256 --layers 6" ...
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_config(text, default_data):
    name, _, flags = text.partition("=")
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        sys.exit(f"Expected a configuration as name=flags but received {text!r}")
    args = shlex.split(flags)
    data = default_data
    rest = []
    for a in args:
        if a.startswith("data="):
            data = a[len("data="):]
        else:
            rest.append(a)
    return name, data, rest


def summary(run):
    """The best epoch's record and the run's parameters, from its checkpoint."""
    best_path = os.path.join(run, "best.pt")
    if not os.path.exists(best_path):
        return None
    best = torch.load(best_path, map_location="cpu")
    ckpt = torch.load(os.path.join(run, "checkpoint.pt"), map_location="cpu")
    params = sum(v.numel() for k, v in best["model"].items() if not k.endswith(("_mean", "_var", "tracked")))
    caption = [r for r in ckpt["state"]["history"] if r["phase"] == "caption"]
    return {"config": best["config"], "parameters": params, "best": best["record"],
            "epochs": len(caption), "seconds": round(ckpt["state"]["elapsed"]),
            "devCiderByEpoch": [r["dev_cider_d"] for r in caption]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--max-seconds", type=float, default=0,
                   help="stop every run still going after this long and tabulate what they reached")
    p.add_argument("configs", nargs="+")
    args = p.parse_args()
    configs = [parse_config(c, args.data) for c in args.configs]
    os.makedirs(args.out, exist_ok=True)
    pending = list(configs)
    running = []
    started = time.time()
    while pending or running:
        while pending and len(running) < args.parallel:
            name, data, flags = pending.pop(0)
            run = os.path.join(args.out, name)
            os.makedirs(run, exist_ok=True)
            log = open(os.path.join(run, "log.txt"), "a")
            command = [sys.executable, os.path.join(HERE, "train_photo.py"), "--data", data, "--run", run, *flags]
            log.write(" ".join(shlex.quote(c) for c in command) + "\n")
            log.flush()
            running.append((name, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log))
        time.sleep(2)
        if args.max_seconds and time.time() - started > args.max_seconds:
            for name, proc, log in running:
                proc.terminate()
                proc.wait()
                log.close()
                print(f"{name}: stopped at the time limit", flush=True)
            running, pending = [], []
        for item in list(running):
            name, proc, log = item
            if proc.poll() is not None:
                log.close()
                running.remove(item)
                print(f"{name}: exit {proc.returncode} after {time.time() - started:.0f} s", flush=True)
    rows = []
    for name, data, flags in configs:
        s = summary(os.path.join(args.out, name))
        rows.append({"name": name, "data": data, "flags": " ".join(flags), **(s or {"failed": True})})
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        json.dump(rows, f, indent=1)
    lines = ["| configuration | parameters | best dev CIDEr-D | at epoch | dev agreement with the last exit | seconds |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if r.get("failed"):
            lines.append(f"| {r['name']} | failed | | | | |")
            continue
        b = r["best"]
        lines.append(f"| {r['name']} | {r['parameters'] / 1e6:.1f}M | {b['dev_cider_d']:.3f} | {b['epoch']} | "
                     f"{', '.join(f'{x:.2f}' for x in b['dev_agreement_with_last'])} | {r['seconds']} |")
    with open(os.path.join(args.out, "sweep.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
