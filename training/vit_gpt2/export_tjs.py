"""Exports a Hugging Face ViT + GPT-2 checkpoint the way transformers.js 2.x loads
vit-gpt2-image-captioning (Xenova's layout): onnx/encoder_model.onnx (pixel_values ->
last_hidden_state) and onnx/decoder_model_merged.onnx (input_ids, encoder_hidden_states,
past_key_values.{i}.key/value -> logits, present.{i}.key/value; an empty past on the first step),
with the checkpoint's own config and tokenizer files beside them. The tests run transformers.js'
image-to-text on it to check that a converted bundle decodes as transformers.js does.

Usage: python3 export_tjs.py --hf DIR --out DIR
"""
import argparse
import os
import shutil
import sys

import torch
from torch import nn

from convert import Encoder, export
from hf_io import ConvertError, load_model, read_side_files


class MergedDecoder(nn.Module):
    """Every layer for the new positions after the past; cross-attention keys/values recomputed
    from the encoder states at every step, as Hugging Face's GPT-2 exports do."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, encoder_hidden_states, *past):
        m = self.m
        start = past[0].shape[2]
        t = input_ids.shape[1]
        positions = (torch.arange(t) + start).unsqueeze(0).expand(input_ids.shape[0], t)
        hidden = m.embed(input_ids, positions)
        presents = []
        for i, block in enumerate(m.blocks):
            ck, cv = block.crossattention.keys_values(encoder_hidden_states)
            hidden, k, v = block(hidden, past[2 * i], past[2 * i + 1], ck, cv)
            presents += [k, v]
        return (m.final_logits(hidden), *presents)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hf", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    try:
        model, config = load_model(args.hf)
        read_side_files(args.hf, config)
    except ConvertError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    enc, dec = config["encoder"], config["decoder"]
    H, D, L = dec["n_head"], dec["n_embd"], dec["n_layer"]
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    px = torch.randn(1, 3, enc["image_size"], enc["image_size"])
    states = model.encode(px).detach()
    export(Encoder(model), (px,), os.path.join(args.out, "onnx", "encoder_model.onnx"), ["pixel_values"],
           ["last_hidden_state"], {"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    past_names = [f"past_key_values.{i}.{kind}" for i in range(L) for kind in ("key", "value")]
    present_names = [f"present.{i}.{kind}" for i in range(L) for kind in ("key", "value")]
    pasts = tuple(torch.randn(1, H, 2, D // H) for _ in past_names)
    axes = {"input_ids": {0: "batch", 1: "steps"}, "encoder_hidden_states": {0: "batch"},
            "logits": {0: "batch", 1: "steps"}}
    axes.update({n: {0: "batch", 2: "past"} for n in past_names})
    axes.update({n: {0: "batch", 2: "total"} for n in present_names})
    export(MergedDecoder(model), (torch.tensor([[5]]), states, *pasts),
           os.path.join(args.out, "onnx", "decoder_model_merged.onnx"),
           ["input_ids", "encoder_hidden_states", *past_names], ["logits", *present_names], axes)
    for name in ("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json",
                 "tokenizer_config.json"):
        src = os.path.join(args.hf, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(args.out, name))
    print(f"wrote {args.out}/onnx/encoder_model.onnx and decoder_model_merged.onnx")


if __name__ == "__main__":
    main()
