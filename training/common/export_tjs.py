"""Builds, from a caption bundle's own graphs, the layout in which transformers.js 2.x loads an
image captioner (as it loads `Xenova/vit-gpt2-image-captioning`), so that its `image-to-text`
pipeline can run the same weights as a baseline:

- onnx/encoder_model.onnx: the bundle's encoder, `pixel_values` -> `last_hidden_state`;
- onnx/decoder_model_merged.onnx: `input_ids` [batch, 1], `encoder_hidden_states` and
  `past_key_values.{i}.key/value` (i from 0) -> `logits`, `present.{i}.key/value`: the bundle's
  fused full-depth step (`graphs.fused.step`) fed by its cross-attention keys/values graph
  (`graphs.fused.crossKv`), which runs at every step on the encoder states as GPT-2 exports do,
  and the position computed from the past's length;
- config.json (a vision-encoder-decoder with a GPT-2-type decoder: transformers.js reads the
  decoder's layers, heads and width from it to make the empty past), generation_config.json,
  preprocessor_config.json (the bundle's image spec), the bundle's tokenizer files.

Only the onnx package is needed (no PyTorch). transformers.js starts every caption from the start
token alone, so the decoder takes one position per run, as the fused step does.

Usage: /usr/bin/python3 training/common/export_tjs.py BUNDLE_DIR OUT_DIR
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper

# PIL's resampling codes, which transformers.js' image processors take.
RESAMPLE = {"bilinear": 2, "bicubic": 3, "lanczos": 1}


class ExportError(Exception):
    pass


def read_manifest(bundle):
    path = os.path.join(bundle, "manifest.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as error:
        raise ExportError(f"{path}: cannot read the manifest ({error})")
    if manifest.get("task") != "image-captioning":
        raise ExportError(f"{path}: not a caption bundle (task {manifest.get('task')!r})")
    fused = manifest.get("graphs", {}).get("fused", {})
    for part in ("step", "crossKv"):
        if part not in fused:
            raise ExportError(f"{path}: has no graphs.fused.{part} (complete it with bundle_graphs.py)")
    if any("shortlist" in layer for layer in manifest["graphs"]["layers"][-1:]):
        raise ExportError(f"{path}: the last layer's head is a shortlist; transformers.js needs the whole vocabulary")
    image = manifest["image"]
    if image.get("resize") != "fill":
        raise ExportError(f"{path}: image.resize {image.get('resize')!r} has no transformers.js equivalent")
    return manifest


def load(bundle, file):
    path = os.path.join(bundle, file)
    try:
        return onnx.load(path)  # with the weights, from the bundle's external-data file
    except Exception as error:  # onnx raises several types for unreadable files
        raise ExportError(f"{path}: cannot read the graph ({error})")


def rename(graph, old, new):
    """Renames a value everywhere in the graph (inputs, outputs, node inputs and outputs)."""
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new
    for node in graph.node:
        node.input[:] = [new if x == old else x for x in node.input]
        node.output[:] = [new if x == old else x for x in node.output]


def encoder_model(bundle, manifest):
    model = load(bundle, manifest["graphs"]["encoder"]["file"])
    rename(model.graph, "memory", "last_hidden_state")
    return model


def decoder_model(bundle, manifest):
    L = manifest["numExits"]
    fused = manifest["graphs"]["fused"]
    step = load(bundle, fused["step"])
    cross = load(bundle, fused["crossKv"])
    g = step.graph
    # Only the logits and the presents: the exit summary is the runtime's, not transformers.js'.
    keep = {"logits"} | {f"present_{k}_{i}" for i in range(1, L + 1) for k in ("key", "value")}
    kept = [o for o in g.output if o.name in keep]
    del g.output[:]
    g.output.extend(kept)
    # The cross-attention keys/values graph, its names prefixed, feeds the step's cross inputs.
    cross = compose.add_prefix(cross, "cross/")
    c = cross.graph
    rename(c, "cross/memory", "encoder_hidden_states")
    for i in range(1, L + 1):
        for kind in ("key", "value"):
            rename(c, f"cross/cross_{kind}_{i}", f"cross_{kind}_{i}")
    cross_inputs = {f"cross_{k}_{i}" for i in range(1, L + 1) for k in ("key", "value")}
    inputs = [x for x in g.input if x.name not in cross_inputs and x.name != "position_ids"]
    # position_ids [batch, 1]: the past's length, one position per run.
    position = [
        helper.make_node("Shape", ["past_key_1"], ["tjs/past_shape"]),
        helper.make_node("Gather", ["tjs/past_shape", "tjs/two"], ["tjs/past_length"], axis=0),
        helper.make_node("Shape", ["input_ids"], ["tjs/ids_shape"]),
        helper.make_node("Expand", ["tjs/past_length", "tjs/ids_shape"], ["position_ids"]),
    ]
    nodes = list(c.node) + position + list(g.node)
    initializers = list(c.initializer) + list(g.initializer) + [
        numpy_helper.from_array(np.array([2], dtype=np.int64), "tjs/two")]
    encoder_states = helper.make_tensor_value_info(
        "encoder_hidden_states", TensorProto.FLOAT, ["batch", manifest["memoryLength"], manifest["hiddenSize"]])
    graph = helper.make_graph(nodes, "decoder_model_merged", [inputs[0], encoder_states, *inputs[1:]],
                              list(g.output), initializers)
    for i in range(1, L + 1):
        for kind in ("key", "value"):
            rename(graph, f"past_{kind}_{i}", f"past_key_values.{i - 1}.{kind}")
            rename(graph, f"present_{kind}_{i}", f"present.{i - 1}.{kind}")
    model = helper.make_model(graph, opset_imports=list(step.opset_import), ir_version=step.ir_version)
    onnx.checker.check_model(model)
    return model


def configs(manifest):
    t = manifest["tokens"]
    special = {"decoder_start_token_id": t["bos"], "bos_token_id": t["bos"], "eos_token_id": t["eos"],
               "pad_token_id": t["pad"]}
    image = manifest["image"]
    config = {
        "model_type": "vision-encoder-decoder",
        "is_encoder_decoder": True,
        **special,
        "encoder": {"model_type": "vit", "image_size": image["size"], "hidden_size": manifest["hiddenSize"],
                    "num_channels": 3},
        "decoder": {"model_type": "gpt2", "n_layer": manifest["numExits"], "n_head": manifest["heads"],
                    "n_embd": manifest["heads"] * manifest["headDim"], "vocab_size": manifest["vocabSize"],
                    "n_positions": manifest["maxLength"], "add_cross_attention": True,
                    "bos_token_id": t["bos"], "eos_token_id": t["eos"], "pad_token_id": t["pad"],
                    "is_decoder": True},
    }
    generation = {**special, "max_length": manifest["maxLength"]}
    # The bundle's repetition limits: transformers.js has no_repeat_ngram_size, not maxRun.
    no_repeat = manifest.get("generation", {}).get("noRepeatNgram", 0)
    if no_repeat > 0:
        generation["no_repeat_ngram_size"] = no_repeat
    preprocessor = {
        "feature_extractor_type": "ViTFeatureExtractor",
        "image_processor_type": "ViTImageProcessor",
        "do_resize": True,
        "size": {"height": image["size"], "width": image["size"]},
        "resample": RESAMPLE[image.get("resample", "lanczos")],
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": image["mean"],
        "image_std": image["std"],
    }
    return {"config.json": config, "generation_config.json": generation,
            "preprocessor_config.json": preprocessor}


def export_tjs(bundle, out):
    """Writes the export to `out` (replaced whole: built beside it, then renamed)."""
    manifest = read_manifest(bundle)
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "onnx"))
    onnx.save(encoder_model(bundle, manifest), os.path.join(tmp, "onnx", "encoder_model.onnx"))
    onnx.save(decoder_model(bundle, manifest), os.path.join(tmp, "onnx", "decoder_model_merged.onnx"))
    for name, value in configs(manifest).items():
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(value, f, indent=2)
            f.write("\n")
    for key in ("file", "config"):
        name = manifest["tokenizer"][key]
        shutil.copy(os.path.join(bundle, name), os.path.join(tmp, os.path.basename(name)))
    with open(os.path.join(tmp, "source.json"), "w") as f:
        json.dump({"bundle": os.path.abspath(bundle), "id": manifest["id"]}, f)
        f.write("\n")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def main():
    p = argparse.ArgumentParser(description="A caption bundle in transformers.js' layout")
    p.add_argument("bundle")
    p.add_argument("out")
    args = p.parse_args()
    try:
        export_tjs(args.bundle, args.out)
    except ExportError as error:
        print(f"export_tjs.py: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"{args.bundle} -> {args.out} (transformers.js layout)")


if __name__ == "__main__":
    main()
