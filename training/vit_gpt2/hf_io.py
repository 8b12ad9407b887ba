"""Reading a Hugging Face VisionEncoderDecoder folder: config.json, the weights, the tokenizer and
processor files (the file formats are read by ../common/hf_files.py). Anything the converter does
not support is refused with a message naming the file and the field or weight."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from hf_files import (  # noqa: E402
    ConvertError, read_json, read_safetensors, read_weights, token_count, write_safetensors,
)
from hf_model import VisionEncoderDecoder  # noqa: E402

__all__ = ["ConvertError", "read_json", "read_safetensors", "read_weights", "write_safetensors",
           "check_config", "load_model", "read_side_files", "token_count"]


def check_config(path, config):
    """The fields the converter relies on, each refused by name when wrong."""
    def need(value, field, expected):
        if value != expected:
            raise ConvertError(f"{path}: field {field!r} is {value!r}; this converter takes {expected!r}")

    need(config.get("model_type"), "model_type", "vision-encoder-decoder")
    enc, dec = config.get("encoder"), config.get("decoder")
    if not isinstance(enc, dict) or not isinstance(dec, dict):
        raise ConvertError(f"{path}: fields 'encoder' and 'decoder' must be objects")
    need(enc.get("model_type"), "encoder.model_type", "vit")
    need(dec.get("model_type"), "decoder.model_type", "gpt2")
    if dec.get("add_cross_attention") is not True:
        raise ConvertError(f"{path}: field 'decoder.add_cross_attention' must be true (a GPT-2 decoder without cross-attention cannot read the image)")
    for field in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "image_size", "patch_size"):
        if not isinstance(enc.get(field), int) or enc[field] < 1:
            raise ConvertError(f"{path}: field 'encoder.{field}' must be a positive integer")
    for field in ("n_embd", "n_layer", "n_head", "n_positions", "vocab_size"):
        if not isinstance(dec.get(field), int) or dec[field] < 1:
            raise ConvertError(f"{path}: field 'decoder.{field}' must be a positive integer")
    if dec["n_layer"] < 2:
        raise ConvertError(f"{path}: field 'decoder.n_layer' is {dec['n_layer']}; early exit needs at least 2 layers")
    if dec["n_embd"] % dec["n_head"] or enc["hidden_size"] % enc["num_attention_heads"]:
        raise ConvertError(f"{path}: widths must divide by the number of heads")
    act = dec.get("activation_function", "gelu_new")
    if act not in ("gelu_new", "gelu", "gelu_pytorch_tanh", "relu"):
        raise ConvertError(f"{path}: field 'decoder.activation_function' {act!r} is not supported")
    for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        if dec.get(flag):
            raise ConvertError(f"{path}: field 'decoder.{flag}' is not supported")
    if dec.get("scale_attn_weights", True) is not True:
        raise ConvertError(f"{path}: field 'decoder.scale_attn_weights' false is not supported")


# Weights a checkpoint may hold that the model does not use (buffers, ViT's unused pooler).
IGNORED = ("attn.bias", "attn.masked_bias", "crossattention.bias", "crossattention.masked_bias")


def load_model(folder):
    """The model with the checkpoint's weights, and its config; every weight checked by name and
    shape."""
    cpath = os.path.join(folder, "config.json")
    config = read_json(cpath, "model config")
    check_config(cpath, config)
    model = VisionEncoderDecoder(config).eval()
    wpath, state = read_weights(folder)
    expected = model.state_dict()
    tied = "decoder.lm_head.weight"
    for name, tensor in state.items():
        if name.endswith(IGNORED) or name.startswith("encoder.pooler."):
            continue
        if name not in expected:
            raise ConvertError(f"{wpath}: unexpected weight {name!r} (not part of a ViT + GPT-2 model with this config)")
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ConvertError(f"{wpath}: weight {name!r} has shape {list(tensor.shape)}, expected {list(expected[name].shape)} from config.json")
    missing = [n for n in expected if n not in state and n != tied]
    if missing:
        raise ConvertError(f"{wpath}: missing weight {missing[0]!r}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    clean = {n: t.float() for n, t in state.items() if n in expected}
    if tied in clean and not torch.equal(clean[tied], clean["decoder.transformer.wte.weight"]):
        raise ConvertError(f"{wpath}: weight {tied!r} differs from 'decoder.transformer.wte.weight'; untied output layers are not supported")
    clean.pop(tied, None)
    model.load_state_dict(clean, strict=False)
    model.decoder.lm_head.weight = model.decoder.transformer.wte.weight
    return model, config


def read_side_files(folder, config):
    """Tokenizer, its config, the image processor and the generation settings, checked against
    the model."""
    tpath = os.path.join(folder, "tokenizer.json")
    tokenizer = read_json(tpath, "tokenizer")
    tconfig = read_json(os.path.join(folder, "tokenizer_config.json"), "tokenizer config")
    if tokenizer.get("model", {}).get("type") != "BPE":
        raise ConvertError(f"{tpath}: field 'model.type' is {tokenizer.get('model', {}).get('type')!r}; GPT-2 uses 'BPE'")
    n = token_count(tokenizer)
    vocab = config["decoder"]["vocab_size"]
    if n is None:
        raise ConvertError(f"{tpath}: its token ids are not 0..N-1 (a vocabulary with gaps), so they cannot match config.json's decoder.vocab_size {vocab}")
    if n != vocab:
        raise ConvertError(f"{tpath}: {n} tokens, but config.json's decoder.vocab_size is {vocab}")
    ppath = os.path.join(folder, "preprocessor_config.json")
    pre = read_json(ppath, "image processor config")
    size = pre.get("size", {})
    if isinstance(size, int):
        size = {"height": size, "width": size}
    image = config["encoder"]["image_size"]
    if pre.get("do_resize", True) and (size.get("height") != image or size.get("width") != image):
        raise ConvertError(f"{ppath}: field 'size' {size} does not match config.json's encoder.image_size {image}")
    if pre.get("do_rescale", True) and abs(pre.get("rescale_factor", 1 / 255) - 1 / 255) > 1e-9:
        raise ConvertError(f"{ppath}: field 'rescale_factor' {pre.get('rescale_factor')} is not 1/255")
    for field in ("image_mean", "image_std"):
        v = pre.get(field) if pre.get("do_normalize", True) else [0.0, 0.0, 0.0] if field == "image_mean" else [1.0] * 3
        if not (isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) for x in v)):
            raise ConvertError(f"{ppath}: field {field!r} must list 3 numbers")
    gpath = os.path.join(folder, "generation_config.json")
    generation = read_json(gpath, "generation config") if os.path.exists(gpath) else {}
    return tokenizer, tconfig, pre, generation
