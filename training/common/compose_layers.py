"""Composes a bundle's first K per-layer graphs into one graph, for benchmarks.

Early exit runs each layer (with its exit head) as its own onnxruntime session, so that it can
stop between layers. The composed graph holds exactly the same nodes and weights, wired output
to input, in one session: timing the K graphs in turn against it measures what running each
layer in its own session costs, apart from what the graphs compute. The weights are not copied:
the composed graph refers to the bundle's `weights.bin` where the layer graphs do. Nor are they
shared: where layers hold the same tensor (exit heads tied, or copied from one head and not yet
distilled), each layer's copy stays its own, as in its own session, so that one copy read over
and over from cache does not flatter the composed graph.

- text bundles: inputs `hidden` (the embeddings' output) and `attention_mask`; outputs every
  layer's `logits_{i}` and the last layer's `hidden_out`;
- caption bundles (the step graphs, with their exit summaries): inputs `hidden` and every
  layer's `past_key_{i}`, `past_value_{i}`, `cross_key_{i}`, `cross_value_{i}`; outputs every
  layer's presents and summary (`prediction_{i}`, `confidence_{i}`, `entropy_{i}`) and the last
  layer's `hidden_out`: what the runtime fetches from each step.

Usage: /usr/bin/python3 training/common/compose_layers.py BUNDLE_DIR K
Writes BUNDLE_DIR/composed_1-K.onnx (under a temporary name, then renamed) and prints its name.
"""
import argparse
import os
import sys

import onnx

from bundle_graphs import BundleError, Composer, io, read_manifest

CAPTION_PER_LAYER_IN = ["past_key", "past_value", "cross_key", "cross_value"]
CAPTION_PER_LAYER_OUT = ["present_key", "present_value", "prediction", "confidence", "entropy"]


def read_graph(dir, file):
    path = os.path.join(dir, file)
    try:
        return onnx.load(path, load_external_data=False).graph
    except Exception as error:  # onnx raises several types for unreadable files
        raise BundleError(f"{path}: cannot read the graph ({error})")


def compose(dir, k):
    manifest, path = read_manifest(dir)
    layers = manifest.get("graphs", {}).get("layers", [])
    if not 1 <= k <= len(layers):
        raise BundleError(f"K is {k}; the bundle has layers 1 to {len(layers)}")
    task = manifest.get("task")
    c = Composer(share_weights=False)
    if task == "text-classification":
        graphs = [(spec, read_graph(dir, spec["file"])) for spec in layers[:k]]
        h_in, m_in = graphs[0][0]["inputs"][:2]
        ins, _ = io(graphs[0][1])
        c.input_like(ins[h_in], "hidden")
        c.input_like(ins[m_in], "attention_mask")
        hidden = "hidden"
        for i, (spec, g) in enumerate(graphs, 1):
            h_in, m_in = spec["inputs"][:2]
            h_out, logits = spec["outputs"][:2]
            last = {h_out: "hidden_out"} if i == k else {}
            c.add(g, f"layer_{i}/", {h_in: hidden, m_in: "attention_mask"}, {logits: f"logits_{i}", **last})
            c.output(f"logits_{i}", io(g)[1][logits])
            hidden = f"layer_{i}/{h_out}"
        c.output("hidden_out", io(graphs[-1][1])[1][h_out])
    elif task == "image-captioning":
        graphs = [read_graph(dir, spec["step"]) for spec in layers[:k]]
        c.input_like(io(graphs[0])[0]["hidden"], "hidden")
        hidden = "hidden"
        for i, g in enumerate(graphs, 1):
            ins, outs = io(g)
            for name in CAPTION_PER_LAYER_IN:
                c.input_like(ins[name], f"{name}_{i}")
            last = {"hidden_out": "hidden_out"} if i == k else {}
            c.add(g, f"layer_{i}/", {"hidden": hidden, **{n: f"{n}_{i}" for n in CAPTION_PER_LAYER_IN}},
                  {**{n: f"{n}_{i}" for n in CAPTION_PER_LAYER_OUT}, **last})
            for name in CAPTION_PER_LAYER_OUT:
                c.output(f"{name}_{i}", outs[name])
            hidden = f"layer_{i}/hidden_out"
        c.output("hidden_out", io(graphs[-1])[1]["hidden_out"])
    else:
        raise BundleError(f"{path}: field \"task\" is {task!r}, not a task this script knows")
    return c.model(f"composed_1-{k}", check=False)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", help="the bundle folder (with manifest.json and weights.bin)")
    p.add_argument("k", type=int, help="how many layers, from the first")
    args = p.parse_args()
    try:
        model = compose(args.bundle, args.k)
    except BundleError as error:
        sys.exit(f"error: {error}")
    name = f"composed_1-{args.k}.onnx"
    target = os.path.join(args.bundle, name)
    with open(target + ".tmp", "wb") as f:
        f.write(model.SerializeToString())
    try:
        onnx.checker.check_model(target + ".tmp")  # by path: finds weights.bin beside it
    except onnx.checker.ValidationError as error:
        os.remove(target + ".tmp")
        sys.exit(f"error: {target}: the composed graph does not check ({error})")
    os.replace(target + ".tmp", target)
    print(name)


if __name__ == "__main__":
    main()
