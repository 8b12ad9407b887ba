"""Completes an exported bundle with the graphs that are built from its per-layer graphs.

Every exporter writes one graph per part (so that the runtime can stop between layers); this
script then adds, from those same graphs:

- caption bundles:
  * the exit summary (`prediction`, `confidence`, `entropy` of the exit's soft-max) as extra
    outputs of every `layer_{i}.onnx` step graph, so that early exit need not fetch the
    vocabulary's logits and soft-max them in JavaScript;
  * `decoder_full.onnx`: one decoding step through the embeddings, every layer and only the last
    exit head (past keys/values of every layer in, presents out): full depth as a conventional
    decoder runs it;
  * `embed_step_1.onnx`: the token embedding and the first layer's step (with its exit and
    summary) in one graph, so early exit pays one run less per token;
  * `cross_kv_all.onnx`: every layer's cross-attention keys/values from the image memory;
  * `kv_above_{k}.onnx` (k = 1..L-1): the self-attention keys/values of layers k+1..L for hidden
    states that exited at layer k (copied upwards, or through the bundle's fill map for the pair,
    `graphs.fillMaps`), in one run;
  * (an `imageClassifier` graph, where the manifest names one, only has its weights moved);
- text bundles: `encoder_full.onnx`, the embeddings, every layer and only the last exit head.

All graphs of the bundle then keep their weights in one external-data file, `weights.bin`, each
distinct tensor stored once (a fused graph holds the same weights as the per-layer ones, the
tied exit heads are one tensor, and a head's transposed copy of the token embeddings is computed
from them). The manifest gets the new graphs' names. Files are written
under temporary names and renamed when all are complete. Running it again on a completed bundle
rebuilds the same files.

Usage: /usr/bin/python3 training/common/bundle_graphs.py BUNDLE_DIR
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
WEIGHTS = "weights.bin"
ALIGN = 4096  # external tensors start on page boundaries (onnxruntime can map them)
INLINE_BELOW = 1024  # bytes; smaller tensors stay inside the graph


class BundleError(Exception):
    pass


def tensor_bytes(t):
    if t.HasField("raw_data"):
        return t.raw_data
    return numpy_helper.to_array(t).tobytes()


def content_key(t):
    if t.data_location == TensorProto.EXTERNAL:  # a graph read without its weights
        return (t.data_type, tuple(t.dims), tuple((e.key, e.value) for e in t.external_data))
    return (t.data_type, tuple(t.dims), hashlib.sha256(tensor_bytes(t)).hexdigest())


class Composer:
    """Builds one graph out of whole subgraphs wired output to input, with weights shared by
    content (unless `share_weights` is False: each subgraph keeps its own, as its own session
    would)."""

    def __init__(self, share_weights=True):
        self.share_weights = share_weights
        self.nodes = []
        self.initializers = {}
        self.by_content = {}
        self.inputs = []
        self.outputs = []

    def add(self, sub, prefix, bind, rename_outputs=None):
        """Adds `sub`'s nodes. `bind` maps each of sub's graph inputs to a name in this graph;
        `rename_outputs` gives some of sub's values their names here (the rest get `prefix`).
        Returns sub's graph outputs' names in this graph."""
        rename_outputs = rename_outputs or {}
        missing = [i.name for i in sub.input if i.name not in bind]
        if missing:
            raise BundleError(f"{sub.name}: inputs {missing} are not bound")
        names = dict(bind)
        for init in sub.initializer:
            key = content_key(init) if self.share_weights else (prefix, init.name)
            name = self.by_content.get(key)
            if name is None:
                name = prefix + init.name
                copy = TensorProto()
                copy.CopyFrom(init)
                copy.name = name
                self.initializers[name] = copy
                self.by_content[key] = name
            names[init.name] = name
        for node in sub.node:
            for out in node.output:
                if out:
                    names[out] = rename_outputs.get(out, prefix + out)
        for node in sub.node:
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.name = prefix + node.name
            del copy.input[:]
            copy.input.extend(names[i] if i else "" for i in node.input)
            del copy.output[:]
            copy.output.extend(names[o] if o else "" for o in node.output)
            self.nodes.append(copy)
        return {o.name: names[o.name] for o in sub.output}

    def node(self, op, inputs, outputs, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=f"{op}_{len(self.nodes)}", **attrs))

    def constant(self, name, array):
        self.initializers[name] = numpy_helper.from_array(array, name)

    def input_like(self, value_info, name):
        v = onnx.ValueInfoProto()
        v.CopyFrom(value_info)
        v.name = name
        self.inputs.append(v)

    def output(self, name, value_info=None, elem_type=TensorProto.FLOAT, shape=None):
        if value_info is None:
            self.outputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        else:
            v = onnx.ValueInfoProto()
            v.CopyFrom(value_info)
            v.name = name
            self.outputs.append(v)

    def model(self, name, check=True):
        """The graph with only the nodes and weights its outputs need (checked, unless its
        weights are outside it: check that one once written, by path)."""
        needed = {o.name for o in self.outputs}
        kept = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        kept.reverse()
        inits = [t for n, t in self.initializers.items() if n in needed]
        graph = helper.make_graph(kept, name, self.inputs, self.outputs, initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="beem-ts bundle_graphs")
        model.ir_version = 8
        if check:
            onnx.checker.check_model(model)
        return model


def add_summary(c, logits, names, shortlist=None):
    """prediction (argmax, first on ties), confidence (max soft-max probability) and entropy
    (nats) of the logits' last axis. With a shortlist (the token ids a shortlist exit head
    scores), the prediction is the token id, not the index into the shortlist."""
    p = names["prefix"]
    c.node("LogSoftmax", [logits], [p + "log_p"], axis=-1)
    c.node("Exp", [p + "log_p"], [p + "p"])
    c.node("ReduceMax", [p + "p"], [names["confidence"]], axes=[-1], keepdims=0)
    if shortlist is None:
        c.node("ArgMax", [logits], [names["prediction"]], axis=-1, keepdims=0)
    else:
        c.node("ArgMax", [logits], [p + "index"], axis=-1, keepdims=0)
        c.constant(p + "shortlist", np.asarray(shortlist, dtype=np.int64))
        c.node("Gather", [p + "shortlist", p + "index"], [names["prediction"]], axis=0)
    c.node("Mul", [p + "p", p + "log_p"], [p + "p_log_p"])
    c.constant(p + "last_axis", np.array([-1], dtype=np.int64))
    c.node("ReduceSum", [p + "p_log_p", p + "last_axis"], [p + "neg_entropy"], keepdims=0)
    c.node("Neg", [p + "neg_entropy"], [names["entropy"]])


def summary_outputs(c, names):
    """[batch, steps] each."""
    shape = ["batch", "steps"]
    c.output(names["prediction"], elem_type=TensorProto.INT64, shape=shape)
    c.output(names["confidence"], shape=shape)
    c.output(names["entropy"], shape=shape)


def only(graph, outputs):
    """A copy of the graph computing only these outputs (drops what an earlier run added)."""
    needed = set(outputs)
    kept = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    copy = onnx.GraphProto()
    copy.CopyFrom(graph)
    del copy.node[:]
    copy.node.extend(reversed(kept))
    keep_out = [o for o in graph.output if o.name in outputs]
    del copy.output[:]
    copy.output.extend(keep_out)
    inits = [t for t in graph.initializer if t.name in needed]
    del copy.initializer[:]
    copy.initializer.extend(inits)
    return copy


def io(graph):
    return {v.name: v for v in graph.input}, {v.name: v for v in graph.output}


def load_model(dir, file, inputs=(), outputs=()):
    """The graph file, checked for the inputs and outputs the runtime feeds and reads."""
    path = os.path.join(dir, file)
    try:
        model = onnx.load(path)
    except Exception as error:  # onnx raises several types for unreadable files
        raise BundleError(f"{path}: cannot read the graph ({error})")
    graph = model.graph
    names_in = [i.name for i in graph.input]
    names_out = [o.name for o in graph.output]
    for name in inputs:
        if name not in names_in:
            raise BundleError(f"{path}: has no input {name!r} (inputs: {names_in})")
    for name in outputs:
        if name not in names_out:
            raise BundleError(f"{path}: has no output {name!r} (outputs: {names_out})")
    return model


SUMMARY = {"prediction": "prediction", "confidence": "confidence", "entropy": "entropy"}


def read_shortlist(dir, layer):
    """The token ids a layer's shortlist exit head scores (`shortlist` names a JSON array), or
    None for a head over the whole vocabulary."""
    file = layer.get("shortlist")
    if file is None:
        return None
    path = os.path.join(dir, file)
    try:
        with open(path) as f:
            ids = json.load(f)
    except (OSError, ValueError) as error:
        raise BundleError(f"{path}: cannot read the shortlist ({error})")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and i >= 0 for i in ids):
        raise BundleError(f"{path}: a shortlist is a non-empty JSON array of token ids")
    return ids
STEP_IN = ["hidden", "past_key", "past_value", "cross_key", "cross_value"]
STEP_OUT = ["hidden_out", "present_key", "present_value", "logits"]


def caption_graphs(dir, manifest):
    layers = manifest["graphs"]["layers"]
    L = len(layers)
    # Each file is read once: graphs rewritten as they are keep their model in `out` (their
    # weights move to the shared file only after every graph has been composed).
    out = {}

    def read(file, inputs, outputs, keep=True):
        model = load_model(dir, file, inputs, outputs)
        if keep:
            out[file] = model
        return model.graph

    read(manifest["graphs"]["encoder"]["file"], ["pixel_values"], ["memory"])
    classifier = manifest["graphs"].get("imageClassifier")
    if classifier is not None:  # the encoder's backbone with its own head: its weights shared
        read(classifier["file"], ["pixel_values"], ["scores"])
    shortlists = [read_shortlist(dir, l) for l in layers]
    embed = read(manifest["graphs"]["embed"]["file"], ["input_ids", "position_ids"], ["hidden"])
    steps, cross, kvs = [], [], []
    for l in layers:
        steps.append(only(read(l["step"], STEP_IN, STEP_OUT, keep=False), STEP_OUT))
        cross.append(read(l["crossKv"], ["memory"], ["cross_key", "cross_value"]))
        kvs.append(read(l["kv"], ["hidden"], ["key", "value"]))

    # Each step graph with its exit's summary.
    for i, (l, step) in enumerate(zip(layers, steps)):
        c = Composer()
        ins, outs = io(step)
        for name in STEP_IN:
            c.input_like(ins[name], name)
        c.add(step, "", {n: n for n in STEP_IN}, {n: n for n in STEP_OUT})
        add_summary(c, "logits", {**SUMMARY, "prefix": "summary/"}, shortlists[i])
        for name in STEP_OUT:
            c.output(name, outs[name])
        summary_outputs(c, SUMMARY)
        out[l["step"]] = c.model(f"layer_{i + 1}_step")

    # The first layer's step with the token embedding in front: one run less per token.
    c = Composer()
    e_in, _ = io(embed)
    for name in ("input_ids", "position_ids"):
        c.input_like(e_in[name], name)
    hidden = c.add(embed, "embed/", {"input_ids": "input_ids", "position_ids": "position_ids"})["hidden"]
    ins, outs = io(steps[0])
    for name in STEP_IN[1:]:
        c.input_like(ins[name], name)
    c.add(steps[0], "layer_1/", {"hidden": hidden, **{n: n for n in STEP_IN[1:]}}, {n: n for n in STEP_OUT})
    add_summary(c, "logits", {**SUMMARY, "prefix": "summary/"}, shortlists[0])
    for name in STEP_OUT:
        c.output(name, outs[name])
    summary_outputs(c, SUMMARY)
    out["embed_step_1.onnx"] = c.model("embed_step_1")

    # Full depth in one step graph: embeddings, every layer, the last head.
    c = Composer()
    e_in, _ = io(embed)
    for name in ("input_ids", "position_ids"):
        c.input_like(e_in[name], name)
    hidden = c.add(embed, "embed/", {"input_ids": "input_ids", "position_ids": "position_ids"})["hidden"]
    for i, step in enumerate(steps, 1):
        ins, _ = io(step)
        for name in STEP_IN[1:]:
            c.input_like(ins[name], f"{name}_{i}")
        outs = c.add(step, f"layer_{i}/", {"hidden": hidden, **{n: f"{n}_{i}" for n in STEP_IN[1:]}},
                     {"present_key": f"present_key_{i}", "present_value": f"present_value_{i}",
                      **({"logits": "logits"} if i == L else {})})
        hidden = outs["hidden_out"]
    _, last_out = io(steps[-1])
    c.output("logits", last_out["logits"])
    add_summary(c, "logits", {**SUMMARY, "prefix": "summary/"}, shortlists[-1])
    summary_outputs(c, SUMMARY)
    for i, step in enumerate(steps, 1):
        _, outs = io(step)
        c.output(f"present_key_{i}", outs["present_key"])
        c.output(f"present_value_{i}", outs["present_value"])
    out["decoder_full.onnx"] = c.model("decoder_full")

    # Every layer's cross-attention keys/values in one run.
    c = Composer()
    c.input_like(io(cross[0])[0]["memory"], "memory")
    for i, g in enumerate(cross, 1):
        c.add(g, f"layer_{i}/", {"memory": "memory"},
              {"cross_key": f"cross_key_{i}", "cross_value": f"cross_value_{i}"})
        _, outs = io(g)
        c.output(f"cross_key_{i}", outs["cross_key"])
        c.output(f"cross_value_{i}", outs["cross_value"])
    out["cross_kv_all.onnx"] = c.model("cross_kv_all")

    # The layers above an exit: their keys/values of the exit's hidden states, in one run; where
    # the bundle has a fill map for the (exit, layer) pair, of the layer input it predicts.
    maps = {}
    for m in manifest["graphs"].get("fillMaps", []):
        e, j = m["exit"], m["layer"]
        if not (isinstance(e, int) and isinstance(j, int) and 1 <= e and e + 2 <= j <= L) or (e, j) in maps:
            raise BundleError(f"graphs.fillMaps: exit {e}, layer {j} is not a new pair with 1 <= exit, "
                              f"exit + 2 <= layer <= {L}")
        maps[e, j] = read(m["file"], ["hidden"], ["hidden_in"])
    fills = []
    for k in range(1, L):
        c = Composer()
        c.input_like(io(kvs[k])[0]["hidden"], "hidden")
        for j in range(k + 1, L + 1):
            g = kvs[j - 1]
            source = "hidden"
            if (k, j) in maps:
                source = c.add(maps[k, j], f"fill_{k}_{j}/", {"hidden": "hidden"})["hidden_in"]
            c.add(g, f"layer_{j}/", {"hidden": source}, {"key": f"key_{j}", "value": f"value_{j}"})
            _, outs = io(g)
            c.output(f"key_{j}", outs["key"])
            c.output(f"value_{j}", outs["value"])
        name = f"kv_above_{k}.onnx"
        out[name] = c.model(f"kv_above_{k}")
        fills.append(name)

    manifest["graphs"]["fused"] = {"step": "decoder_full.onnx", "crossKv": "cross_kv_all.onnx"}
    manifest["graphs"]["embedStep"] = "embed_step_1.onnx"
    for k, name in enumerate(fills):
        layers[k]["fillAbove"] = name
    layers[-1].pop("fillAbove", None)
    return out


def text_graphs(dir, manifest):
    g = manifest["graphs"]
    # Each file read once; its weights move to the shared file after the fused graph is composed.
    out = {spec["file"]: load_model(dir, spec["file"], spec["inputs"], spec["outputs"])
           for spec in [g["embeddings"], *g["layers"]]}
    embed = out[g["embeddings"]["file"]].graph
    layers = [out[l["file"]].graph for l in g["layers"]]
    c = Composer()
    ids_name = g["embeddings"]["inputs"][0]
    c.input_like(io(embed)[0][ids_name], "input_ids")
    first_in, _ = io(layers[0])
    mask_name = g["layers"][0]["inputs"][1]
    c.input_like(first_in[mask_name], "attention_mask")
    hidden = c.add(embed, "embeddings/", {ids_name: "input_ids"})[g["embeddings"]["outputs"][0]]
    for i, (spec, layer) in enumerate(zip(g["layers"], layers), 1):
        h_in, m_in = spec["inputs"][:2]
        h_out, logits = spec["outputs"][:2]
        outs = c.add(layer, f"layer_{i}/", {h_in: hidden, m_in: "attention_mask"},
                     {logits: "logits"} if i == len(layers) else {})
        hidden = outs[h_out]
    c.output("logits", io(layers[-1])[1][g["layers"][-1]["outputs"][1]])
    out["encoder_full.onnx"] = c.model("encoder_full")
    g["fused"] = {"file": "encoder_full.onnx", "inputs": ["input_ids", "attention_mask"], "outputs": ["logits"]}
    return out


def share_transposed(models):
    """A wide matrix whose transpose is another tensor of the bundle (an exit head tied to the
    token embeddings, which the exporter constant-folds into a transposed copy) becomes a
    Transpose node of that tensor, so that weights.bin holds the matrix once; onnxruntime folds
    the Transpose back into a constant when it loads the graph, so no run pays for it."""
    tall = set()
    for model in models.values():
        for t in model.graph.initializer:
            if len(t.dims) == 2 and t.dims[0] > t.dims[1] and t.data_type == TensorProto.FLOAT:
                tall.add(content_key(t))
    shared = 0
    for model in models.values():
        graph = model.graph
        for t in list(graph.initializer):
            if not (len(t.dims) == 2 and t.dims[0] < t.dims[1] and t.data_type == TensorProto.FLOAT):
                continue
            source = numpy_helper.from_array(np.ascontiguousarray(numpy_helper.to_array(t).T),
                                             t.name + "/transposed")
            if content_key(source) not in tall:
                continue
            graph.initializer.remove(t)
            graph.initializer.append(source)
            graph.node.insert(0, helper.make_node("Transpose", [source.name], [t.name],
                                                  name=t.name + "/transpose", perm=[1, 0]))
            shared += 1
    return shared


def externalize(models, dir):
    """Moves every tensor of INLINE_BELOW bytes or more into one file, each distinct one once."""
    share_transposed(models)
    blob = bytearray()
    offsets = {}
    for model in models.values():
        for t in model.graph.initializer:
            data = tensor_bytes(t)
            if len(data) < INLINE_BELOW:
                continue
            key = (t.data_type, tuple(t.dims), hashlib.sha256(data).hexdigest())
            if key not in offsets:
                blob.extend(b"\0" * (-len(blob) % ALIGN))
                offsets[key] = len(blob)
                blob.extend(data)
            t.ClearField("raw_data")
            for field in ("float_data", "int32_data", "int64_data", "double_data"):
                t.ClearField(field)
            del t.external_data[:]
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", WEIGHTS), ("offset", str(offsets[key])), ("length", str(len(data)))):
                entry = t.external_data.add()
                entry.key, entry.value = k, v
    return bytes(blob)


def read_manifest(dir):
    """The bundle's manifest.json and its path."""
    path = os.path.join(dir, "manifest.json")
    try:
        with open(path) as f:
            return json.load(f), path
    except (OSError, ValueError) as error:
        raise BundleError(f"{path}: cannot read the manifest ({error})")


def complete_bundle(dir):
    manifest, path = read_manifest(dir)
    task = manifest.get("task")
    if task == "image-captioning":
        models = caption_graphs(dir, manifest)
    elif task == "text-classification":
        models = text_graphs(dir, manifest)
    else:
        raise BundleError(f"{path}: field \"task\" is {task!r}, not a task this script knows")
    blob = externalize(models, dir)
    manifest["weights"] = WEIGHTS
    written = []
    with open(os.path.join(dir, WEIGHTS + ".tmp"), "wb") as f:
        f.write(blob)
    written.append(WEIGHTS)
    for name, model in models.items():
        with open(os.path.join(dir, name + ".tmp"), "wb") as f:
            f.write(model.SerializeToString())
        written.append(name)
    with open(path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    written.append("manifest.json")
    for name in written:
        os.replace(os.path.join(dir, name + ".tmp"), os.path.join(dir, name))
    return manifest, len(blob), sorted(models)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", help="the bundle folder (with manifest.json)")
    args = p.parse_args()
    try:
        _, size, files = complete_bundle(args.bundle)
    except BundleError as error:
        sys.exit(str(error))
    print(f"{args.bundle}: {len(files)} graphs, weights in {WEIGHTS} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
