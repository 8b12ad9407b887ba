"""Converts a fine-tuned Hugging Face text classifier (BertForSequenceClassification,
AlbertForSequenceClassification or DistilBertForSequenceClassification, downloaded to a local
folder) into a BEEM text bundle:

1. reads and checks the checkpoint (text_io.py) and builds it in PyTorch (text_model.py);
2. tokenises the unlabelled --texts (and the labelled --calibration file) with the checkpoint's
   own tokenizer as the runtime runs it (tokenize-texts.ts, transformers.js);
3. runs the frozen model once over the texts, keeping every layer's first-token state and the
   model's own class distribution;
4. adds an exit head after every layer but the last, of the model's own head's shape (pooler and
   classifier, or DistilBERT's pre-classifier and classifier), initialised as a copy of it, and
   trains them by distillation from the final class distribution (backbone frozen). The last
   exit is the model's own head, untouched: full depth is exactly the original model;
5. exports the bundle (embeddings, one graph per layer with its exit, the fused full-depth graph,
   the tokenizer files as shipped, golden.json with PyTorch's logits on a few inputs) to a
   temporary folder, checks onnxruntime-node against PyTorch, measures per-layer costs, logs
   every exit on the calibration texts (their labels, or the final layer's predictions on a
   held-back quarter of --texts) and fits the default policy (BEEM-A);
6. renames the folder to --out: an interrupted conversion leaves nothing half-written.

Usage: python3 convert.py --hf DIR --out DIR --texts FILE [--epochs 5] [--calibration FILE]
       [--lambda 0.01] [--max-length N] [--max-texts N] [--no-distill] [--id ID] [--seed 0]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import warnings

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
from bundle_graphs import BundleError, complete_bundle  # noqa: E402
from hf_files import ConvertError, conversion, read_json  # noqa: E402
from text_io import load_model, read_tokenizer  # noqa: E402
from text_model import ExitHead, multiply_adds  # noqa: E402

OPSET = 17
BATCH = 32


def log(message):
    print(message, file=sys.stderr, flush=True)


def tsx(script, *args):
    cmd = ["pnpm", "exec", "tsx", os.path.join(ROOT, "training", *script.split("/")), *args]
    done = subprocess.run(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        lines = [line.removeprefix("error: ") for line in done.stderr.strip().splitlines() if line.strip()]
        raise ConvertError(lines[-1] if lines else f"{script} failed (exit {done.returncode})")
    if done.stderr.strip():
        log(done.stderr.strip())


def read_ids(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def batches(rows, pad):
    """Rows in length order, padded per batch of BATCH: (indices, ids, mask)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    for start in range(0, len(order), BATCH):
        chunk = order[start:start + BATCH]
        width = max(len(rows[i]) for i in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for k, i in enumerate(chunk):
            ids[k, :len(rows[i])] = torch.tensor(rows[i])
            mask[k, :len(rows[i])] = 1
        yield chunk, ids, mask


@torch.no_grad()
def features(model, rows, pad, what):
    """Every layer's first-token state (N x L x H) and the model's class distribution (N x C)."""
    L, H = model.spec.layers, model.spec.hidden
    firsts = torch.empty(len(rows), L, H)
    teacher = torch.empty(len(rows), model.spec.labels)
    start, done = time.time(), 0
    for chunk, ids, mask in batches(rows, pad):
        x = model.embed(ids)
        for i in range(L):
            x = model.layer(i, x, mask)
            firsts[chunk, i] = x[:, 0]
        teacher[chunk] = model.classify(x).softmax(-1)
        done += len(chunk)
        if done == len(rows) or (done // BATCH) % 20 == 0:
            rate = done / max(time.time() - start, 1e-9)
            log(f"  {what}: {done}/{len(rows)} texts through the frozen model ({rate:.1f} texts/s)")
    return firsts, teacher, time.time() - start


class ExitHeads(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.heads = nn.ModuleList(ExitHead(model) for _ in range(model.spec.layers - 1))

    def forward(self, firsts):
        """firsts: N x L x H -> logits of the exits 1..L-1: (L-1) x N x C."""
        return torch.stack([h(firsts[:, i]) for i, h in enumerate(self.heads)])


def distill(heads, firsts, teacher, epochs, seed):
    """Trains the exit heads to match the final distribution (soft cross-entropy), Adam."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(heads.parameters(), lr=1e-3)
    n = len(firsts)
    start = time.time()
    for epoch in range(1, epochs + 1):
        heads.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for s in range(0, n, 64):
            idx = order[s:s + 64]
            logits = heads(firsts[idx])
            loss = -(teacher[idx] * logits.log_softmax(-1)).sum(-1).mean(-1).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        log(f"  distillation epoch {epoch}/{epochs}: loss {total / n / len(heads.heads):.4f} per exit "
            f"({time.time() - start:.1f} s)")
    heads.eval()
    return time.time() - start


class EmbeddingsGraph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model.embed(input_ids)


class LayerGraph(nn.Module):
    """Layer i and its exit: (hidden, attention_mask) -> (hidden_out, logits)."""

    def __init__(self, model, i, head):
        super().__init__()
        self.model, self.i, self.head = model, i, head

    def forward(self, hidden, attention_mask):
        out = self.model.layer(self.i, hidden, attention_mask)
        logits = self.head(out[:, 0]) if self.head is not None else self.model.classify(out)
        return out, logits


def export_graphs(model, heads, out):
    # The tracer warns about Python numbers taken from shapes; the graphs keep batch and sequence
    # dynamic (the tests run them at other sizes), so the warnings are noise here.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    ids = torch.tensor([[2, 10, 11, 12, 3], [2, 20, 3, 0, 0]])
    mask = (ids != 0).long()
    seq = {0: "batch", 1: "sequence"}
    torch.onnx.export(EmbeddingsGraph(model), (ids,), os.path.join(out, "embeddings.onnx"),
                      input_names=["input_ids"], output_names=["hidden"], opset_version=OPSET,
                      dynamic_axes={"input_ids": seq, "hidden": seq})
    hidden = model.embed(ids)
    L = model.spec.layers
    for i in range(L):
        graph = LayerGraph(model, i, heads.heads[i] if i < L - 1 else None).eval()
        torch.onnx.export(graph, (hidden, mask), os.path.join(out, f"layer_{i + 1}.onnx"),
                          input_names=["hidden", "attention_mask"], output_names=["hidden_out", "logits"],
                          opset_version=OPSET,
                          dynamic_axes={"hidden": seq, "attention_mask": seq, "hidden_out": seq, "logits": {0: "batch"}})


@torch.no_grad()
def exit_probabilities(model, heads, rows, pad):
    """Every exit's class probabilities per row: N x L x C (the last exit is the model's head)."""
    firsts, teacher, _ = features(model, rows, pad, "calibration")
    return torch.cat([heads(firsts).softmax(-1).transpose(0, 1), teacher.unsqueeze(1)], 1)


@torch.no_grad()
def golden(model, heads, rows, count):
    """PyTorch's per-exit logits on `count` rows of different lengths, batch 1, no padding."""
    chosen = sorted(rows, key=len)[:: max(1, len(rows) // count)][:count]
    out = []
    for ids in chosen:
        t = torch.tensor([ids])
        mask = torch.ones_like(t)
        x = model.embed(t)
        logits = []
        for i in range(model.spec.layers):
            x = model.layer(i, x, mask)
            logits.append((heads.heads[i](x[:, 0]) if i < model.spec.layers - 1 else model.classify(x))[0].tolist())
        out.append({"ids": ids, "logits": logits})
    return out


def max_length_of(args, spec, folder):
    tconfig = read_json(os.path.join(folder, "tokenizer_config.json"), "tokenizer config")
    limit = spec.positions
    declared = tconfig.get("model_max_length")
    if isinstance(declared, int) and 2 <= declared < limit:
        limit = declared
    if args.max_length is not None:
        if not 3 <= args.max_length <= spec.positions:
            raise ConvertError(f"--max-length {args.max_length}: give 3..{spec.positions} (config.json's "
                               "max_position_embeddings)")
        limit = args.max_length
    return limit


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hf", required=True, help="the Hugging Face model folder")
    p.add_argument("--out", required=True, help="the bundle folder to write")
    p.add_argument("--texts", help="unlabelled texts, one per line: distillation (and calibration)")
    p.add_argument("--calibration", help='labelled JSON Lines {"text", "label"} to calibrate the policy on')
    p.add_argument("--epochs", type=int, default=5, help="distillation epochs (default 5)")
    p.add_argument("--lambda", dest="lam", type=float, default=0.01, help="default policy's lambda (default 0.01)")
    p.add_argument("--max-length", type=int, default=None,
                   help="tokens per text (default: the tokenizer's model_max_length, at most the positions)")
    p.add_argument("--max-texts", type=int, default=None, help="use the first N texts only")
    p.add_argument("--golden", type=int, default=6, help="inputs whose PyTorch logits go to golden.json")
    p.add_argument("--no-distill", action="store_true", help="keep the exit heads as initialised (timing only)")
    p.add_argument("--id", default=None, help="the bundle's id (default: the --out folder's name)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    out = os.path.abspath(args.out)
    with conversion(out, (BundleError,)) as work:
        if args.epochs < 1:
            raise ConvertError(f"--epochs {args.epochs}: give at least 1")
        if args.texts is None and not args.no_distill:
            raise ConvertError("give --texts FILE (unlabelled texts, one per line, to distil the exit heads on), "
                               "or --no-distill")
        for flag, path in (("--texts", args.texts), ("--calibration", args.calibration)):
            if path is not None and not os.path.isfile(path):
                raise ConvertError(f"{path}: file not found ({flag})")
        parent = os.path.dirname(out) or "."
        os.makedirs(parent, exist_ok=True)
        if not os.access(parent, os.W_OK):
            raise ConvertError(f"{parent}: cannot write there (--out)")
        model, spec, labels, _ = load_model(args.hf)
        pad = read_tokenizer(args.hf, spec)
        max_length = max_length_of(args, spec, args.hf)
        L = spec.layers
        tmp = work.new()
        hf = os.path.abspath(args.hf)
        texts, calibration = [], None
        if args.texts is not None:
            path = os.path.join(tmp, ".texts.jsonl")
            tsx("hf_text/tokenize-texts.ts", "--hf", hf, "--max-length", str(max_length),
                "--texts", os.path.abspath(args.texts), "--out", path)
            texts = [r["ids"] for r in read_ids(path)][:args.max_texts]
            os.remove(path)
        if args.calibration is not None:
            path = os.path.join(tmp, ".calibration.jsonl")
            tsx("hf_text/tokenize-texts.ts", "--hf", hf, "--max-length", str(max_length), "--labels",
                str(spec.labels), "--texts", os.path.abspath(args.calibration), "--out", path)
            calibration = read_ids(path)
            os.remove(path)
        # Held back for calibration when no labelled file is given: a quarter of the texts.
        n_held = 0 if calibration is not None or not texts else max(1, len(texts) // 4)
        distil_rows = texts[n_held:]
        heads = ExitHeads(model)
        distillation = None
        if not args.no_distill:
            if not distil_rows:
                raise ConvertError(f"{args.texts}: too few texts to both distil and calibrate on")
            log(f"{len(distil_rows)} texts for distillation; the frozen model's states first")
            firsts, teacher, frozen_s = features(model, distil_rows, pad, "features")
            train_s = distill(heads, firsts, teacher, args.epochs, args.seed)
            distillation = {"epochs": args.epochs, "texts": len(distil_rows),
                            "frozenPassSeconds": round(frozen_s, 1), "trainingSeconds": round(train_s, 1),
                            "textsPerSecondFrozen": round(len(distil_rows) / max(frozen_s, 1e-9), 1)}
        heads.eval()
        probs = None  # every exit's probabilities on the calibration rows
        if calibration is None and n_held > 0:
            held = texts[:n_held]
            probs = exit_probabilities(model, heads, held, pad)
            finals = probs[:, -1].argmax(-1).tolist()
            calibration = [{"ids": ids, "label": y} for ids, y in zip(held, finals)]
        log(f"exporting to {tmp}")
        export_graphs(model, heads, tmp)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(args.hf, name), os.path.join(tmp, name))
        golden_rows = [r["ids"] for r in calibration] if calibration else texts
        if golden_rows:
            with open(os.path.join(tmp, "golden.json"), "w") as f:
                json.dump({"source": "PyTorch (text_model.py), batch 1, no padding",
                           "inputs": golden(model, heads, golden_rows, args.golden)}, f)
        manifest = {
            "format": "beem-bundle", "formatVersion": 1,
            "id": args.id or os.path.basename(out),
            "task": "text-classification",
            "labels": labels, "numExits": L, "maxLength": max_length, "hiddenSize": spec.hidden,
            "tokenizer": {"file": "tokenizer.json", "config": "tokenizer_config.json", "padId": pad},
            "graphs": {
                "embeddings": {"file": "embeddings.onnx", "inputs": ["input_ids"], "outputs": ["hidden"]},
                "layers": [{"file": f"layer_{i}.onnx", "inputs": ["hidden", "attention_mask"],
                            "outputs": ["hidden_out", "logits"]} for i in range(1, L + 1)],
            },
            "conversion": {
                "from": os.path.basename(hf), "architecture": spec.kind, "layers": L, "hidden": spec.hidden,
                "ffn": spec.ffn, "heads": spec.heads,
                "texts": len(texts), "calibrationTexts": len(calibration or []),
                "calibrationLabels": None if calibration is None else
                ("the --calibration file's" if args.calibration else "the model's own predictions on held-back texts"),
                "distillation": distillation,
            },
        }
        if golden_rows:
            mean = round(sum(len(r) for r in golden_rows) / len(golden_rows))
            manifest["conversion"]["multiplyAdds"] = {**multiply_adds(spec, mean), "tokens": mean}
        if calibration:
            if probs is None:
                probs = exit_probabilities(model, heads, [r["ids"] for r in calibration], pad)
            with open(os.path.join(tmp, "calibration-exits.jsonl"), "w") as f:
                for row, p_row in zip(calibration, probs.tolist()):
                    exits = [[round(v, 6) for v in e] for e in p_row]
                    f.write(json.dumps({"label": row["label"], "exits": exits}, separators=(",", ":")) + "\n")
            manifest["calibrationLog"] = "calibration-exits.jsonl"
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        complete_bundle(tmp)
        if golden_rows:
            tsx("text/check-bundle.ts", tmp)
        if calibration:
            ids_path = os.path.join(tmp, ".calibration-ids.jsonl")
            with open(ids_path, "w") as f:
                f.write("".join(json.dumps({"ids": r["ids"]}) + "\n" for r in calibration))
            tsx("text/measure-costs.ts", tmp, ids_path, "--inputs", "200", "--repeats", "3")
            os.remove(ids_path)
            tsx("text/default-policy.ts", tmp, "--lambda", str(args.lam))
        work.finish()
        log(f"wrote {out}: {spec.kind}, {L} exits, {len(labels)} labels, up to {max_length} tokens")


if __name__ == "__main__":
    main()
