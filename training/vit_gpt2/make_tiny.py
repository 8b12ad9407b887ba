"""Writes a tiny random ViT + GPT-2 captioner in exactly Hugging Face's layout: config.json with
the fields VisionEncoderDecoderConfig.save_pretrained writes, the weights under their own key
names (model.safetensors, or pytorch_model.bin with --bin), a small byte-level BPE tokenizer.json
(GPT-2's byte alphabet, a few merges, <|endoftext|>), tokenizer_config.json,
preprocessor_config.json and generation_config.json. For tests and timing: the weights are
random (scaled so that greedy decoding is decisive), the captions meaningless.

Usage: python3 make_tiny.py --out DIR [--seed 0] [--bin] [--layers 4] [--width 32] [--image 32]
       [--patch 8] [--encoder-layers 2] [--vocab-words WORDS] [--inner N] [--positions 32]
       [--encoder-width N] [--heads 4]
"""
import argparse
import json
import os

import torch

from hf_io import write_safetensors
from hf_model import VisionEncoderDecoder

WORDS = ("a cat dog sitting on the table with red blue green ball next to an of in and man "
         "woman car street picture small large two white black").split()


def bytes_to_unicode():
    """GPT-2's map from bytes to printable characters (the byte-level alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def byte_level_bpe(words):
    """vocab (256 byte symbols, then merged symbols) and merges that build "Ġword" for each word."""
    alphabet = bytes_to_unicode()
    vocab = {alphabet[b]: i for i, b in enumerate(sorted(alphabet))}
    merges = []
    for word in words:
        symbols = ["Ġ"] + list(word)
        while len(symbols) > 1:
            pair = (symbols[0], symbols[1])
            merged = pair[0] + pair[1]
            if f"{pair[0]} {pair[1]}" not in merges:
                merges.append(f"{pair[0]} {pair[1]}")
            if merged not in vocab:
                vocab[merged] = len(vocab)
            symbols = [merged] + symbols[2:]
    end = len(vocab)
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": end, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": {**vocab, "<|endoftext|>": end}, "merges": merges},
    }
    return tokenizer, end + 1, end


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bin", action="store_true", help="write pytorch_model.bin instead of model.safetensors")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--inner", type=int, default=None)
    p.add_argument("--positions", type=int, default=32)
    p.add_argument("--image", type=int, default=32)
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--encoder-layers", type=int, default=2)
    p.add_argument("--encoder-width", type=int, default=None)
    p.add_argument("--encoder-heads", type=int, default=None)
    p.add_argument("--vocab-size", type=int, default=None,
                   help="pad the tokenizer with unused tokens up to this size (for real-sized vocabularies)")
    p.add_argument("--scale", type=float, default=0.2, help="standard deviation of the random weights")
    p.add_argument("--encoder-inner", type=int, default=None)
    p.add_argument("--max-length", type=int, default=16, help="generation_config.json's max_length")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    tokenizer, vocab_size, end = byte_level_bpe(WORDS)
    if args.vocab_size is not None and args.vocab_size > vocab_size:
        # Filler tokens, as a real 50,257-token vocabulary would have them (never produced by merges).
        vocab = tokenizer["model"]["vocab"]
        del vocab["<|endoftext|>"]
        for i in range(len(vocab), args.vocab_size - 1):
            vocab[f"<unused{i}>"] = i
        end = args.vocab_size - 1
        vocab["<|endoftext|>"] = end
        tokenizer["added_tokens"][0]["id"] = end
        vocab_size = args.vocab_size
    enc_width = args.encoder_width or args.width
    encoder = {
        "model_type": "vit", "architectures": ["ViTModel"], "hidden_size": enc_width,
        "num_hidden_layers": args.encoder_layers, "num_attention_heads": args.encoder_heads or args.heads,
        "intermediate_size": args.encoder_inner or 4 * enc_width, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
        "image_size": args.image, "patch_size": args.patch, "num_channels": 3, "qkv_bias": True,
        "encoder_stride": args.patch, "is_decoder": False, "add_cross_attention": False,
    }
    decoder = {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": vocab_size,
        "n_positions": args.positions, "n_embd": args.width, "n_layer": args.layers, "n_head": args.heads,
        "n_inner": args.inner, "activation_function": "gelu_new", "resid_pdrop": 0.0, "embd_pdrop": 0.0,
        "attn_pdrop": 0.0, "layer_norm_epsilon": 1e-5, "initializer_range": 0.02, "scale_attn_weights": True,
        "use_cache": True, "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
        "bos_token_id": end, "eos_token_id": end, "pad_token_id": end, "decoder_start_token_id": end,
        "is_decoder": True, "add_cross_attention": True,
    }
    config = {
        "architectures": ["VisionEncoderDecoderModel"], "model_type": "vision-encoder-decoder",
        "is_encoder_decoder": True, "tie_word_embeddings": False, "decoder_start_token_id": end,
        "bos_token_id": end, "eos_token_id": end, "pad_token_id": end, "torch_dtype": "float32",
        "transformers_version": "4.36.2", "encoder": encoder, "decoder": decoder,
    }
    model = VisionEncoderDecoder(config)
    with torch.no_grad():
        for name, t in model.named_parameters():
            if name.endswith("weight") and t.dim() == 1:  # layer norms
                t.copy_(1 + 0.1 * torch.randn_like(t))
            else:
                t.copy_(args.scale * torch.randn_like(t))
    os.makedirs(args.out, exist_ok=True)
    state = {n: t for n, t in model.state_dict().items() if n != "decoder.lm_head.weight"}
    if args.bin:
        # As PyTorch checkpoints of GPT-2 often hold them: the causal-mask buffers and the tied head.
        state = {**state, "decoder.lm_head.weight": model.decoder.lm_head.weight.detach().clone()}
        for i in range(args.layers):
            state[f"decoder.transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(args.positions, args.positions)).view(1, 1, args.positions, args.positions)
        torch.save(state, os.path.join(args.out, "pytorch_model.bin"))
    else:
        write_safetensors(os.path.join(args.out, "model.safetensors"), state)
    files = {
        "config.json": config,
        "tokenizer.json": tokenizer,
        "tokenizer_config.json": {"add_prefix_space": False, "bos_token": "<|endoftext|>",
                                  "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                                  "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer"},
        "preprocessor_config.json": {"do_normalize": True, "do_rescale": True, "do_resize": True,
                                     "feature_extractor_type": "ViTFeatureExtractor",
                                     "image_processor_type": "ViTImageProcessor",
                                     "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                                     "resample": 2, "rescale_factor": 1 / 255,
                                     "size": {"height": args.image, "width": args.image}},
        "generation_config.json": {"bos_token_id": end, "decoder_start_token_id": end, "eos_token_id": end,
                                   "pad_token_id": end, "max_length": args.max_length, "transformers_version": "4.36.2"},
    }
    for name, value in files.items():
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(value, f, indent=2, ensure_ascii=False)
            f.write("\n")
    print(f"wrote a tiny ViT ({args.encoder_layers} layers) + GPT-2 ({args.layers} layers, {vocab_size} tokens) to {args.out}")


if __name__ == "__main__":
    main()
