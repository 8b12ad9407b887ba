"""Hugging Face's VisionEncoderDecoder with a ViT encoder and a GPT-2 decoder, written in PyTorch
from the public modeling code (transformers' modeling_vit.py, modeling_gpt2.py and
modeling_vision_encoder_decoder.py), so that a checkpoint loads by its own key names:

- ViT: patch embedding (a convolution with kernel = stride = patch size), the CLS token prepended,
  learned position embeddings; pre-LN layers (`layernorm_before`, self-attention with query/key/
  value Linear layers, `attention.output.dense`; `layernorm_after`, `intermediate.dense`, the
  activation `hidden_act` ("gelu": exact erf GELU), `output.dense`), each with a residual; the
  final `layernorm`. Layer-norm epsilon `layer_norm_eps` (1e-12 by default). No pooler (the
  encoder-decoder model builds ViT without one).
- GPT-2: token (`wte`) and position (`wpe`) embeddings; blocks of `ln_1`, causal self-attention
  (`attn.c_attn`, a Conv1D: weight stored [in, out], y = x W + b, giving query, key and value
  side by side; `attn.c_proj`), `ln_cross_attn`, cross-attention (`crossattention.q_attn` for the
  queries from the decoder, `crossattention.c_attn` for keys and values from the encoder states,
  `crossattention.c_proj`), `ln_2`, the MLP (`mlp.c_fc`, `activation_function` "gelu_new": the
  tanh approximation, `mlp.c_proj`), each with a residual; `ln_f`; `lm_head` tied to `wte`.
  Attention weights scaled by 1 / sqrt(head dim) (`scale_attn_weights`), epsilon
  `layer_norm_epsilon` (1e-5).
- The encoder states go to the decoder through `enc_to_dec_proj` when the widths differ.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight [in, out]."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


# ViT ----------------------------------------------------------------------------------------

class ViTPatchEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.projection = nn.Conv2d(c["num_channels"], c["hidden_size"], c["patch_size"], c["patch_size"])

    def forward(self, pixel_values):
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        patches = (c["image_size"] // c["patch_size"]) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c["hidden_size"]))
        self.position_embeddings = nn.Parameter(torch.zeros(1, patches + 1, c["hidden_size"]))
        self.patch_embeddings = ViTPatchEmbeddings(c)

    def forward(self, pixel_values):
        x = self.patch_embeddings(pixel_values)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return torch.cat([cls, x], dim=1) + self.position_embeddings


class ViTSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, bias = c["hidden_size"], c.get("qkv_bias", True)
        self.heads = c["num_attention_heads"]
        self.query = nn.Linear(d, d, bias=bias)
        self.key = nn.Linear(d, d, bias=bias)
        self.value = nn.Linear(d, d, bias=bias)

    def forward(self, x):
        q, k, v = (split_heads(f(x), self.heads) for f in (self.query, self.key, self.value))
        return merge_heads(attend(q, k, v))


class ViTOutputDense(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.dense(x)


class ViTAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = ViTSelfAttention(c)
        self.output = ViTOutputDense(c["hidden_size"], c["hidden_size"])

    def forward(self, x):
        return self.output(self.attention(x))


class ViTLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, eps = c["hidden_size"], c.get("layer_norm_eps", 1e-12)
        self.act = ACTIVATIONS[c.get("hidden_act", "gelu")]
        self.attention = ViTAttention(c)
        self.intermediate = ViTOutputDense(d, c["intermediate_size"])
        self.output = ViTOutputDense(c["intermediate_size"], d)
        self.layernorm_before = nn.LayerNorm(d, eps=eps)
        self.layernorm_after = nn.LayerNorm(d, eps=eps)

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        return x + self.output(self.act(self.intermediate(self.layernorm_after(x))))


class ViTLayers(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(ViTLayer(c) for _ in range(c["num_hidden_layers"]))


class ViTModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = ViTEmbeddings(c)
        self.encoder = ViTLayers(c)
        self.layernorm = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-12))

    def forward(self, pixel_values):
        x = self.embeddings(pixel_values)
        for layer in self.encoder.layer:
            x = layer(x)
        return self.layernorm(x)


# GPT-2 --------------------------------------------------------------------------------------

def split_heads(x, heads):
    return x.reshape(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)


def merge_heads(x):
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1)


def attend(q, k, v, causal_from=None):
    """Soft-max attention scaled by 1/sqrt(head dim). With causal_from (the first query's
    position), a query at position p sees keys at positions <= p."""
    w = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(q.shape[-1]))
    if causal_from is not None:
        t, s = q.shape[2], k.shape[2]
        allowed = torch.arange(s)[None, :] <= (torch.arange(t)[:, None] + causal_from)
        w = w.masked_fill(~allowed, torch.finfo(w.dtype).min)
    return torch.softmax(w, dim=-1) @ v


class GPT2SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        self.heads = c["n_head"]
        self.c_attn = Conv1D(d, 3 * d)
        self.c_proj = Conv1D(d, d)

    def keys_values(self, x):
        """This layer's keys and values of its input (after ln_1): B x H x T x Dh each."""
        d = self.c_proj.weight.shape[0]
        y = self.c_attn(x)
        return split_heads(y[..., d:2 * d], self.heads), split_heads(y[..., 2 * d:], self.heads)

    def forward(self, x, past_key, past_value):
        d = self.c_proj.weight.shape[0]
        y = self.c_attn(x)
        q, k, v = y[..., :d], y[..., d:2 * d], y[..., 2 * d:]
        k = torch.cat([past_key, split_heads(k, self.heads)], dim=2)
        v = torch.cat([past_value, split_heads(v, self.heads)], dim=2)
        out = attend(split_heads(q, self.heads), k, v, causal_from=past_key.shape[2])
        return self.c_proj(merge_heads(out)), k, v


class GPT2CrossAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        self.heads = c["n_head"]
        self.q_attn = Conv1D(d, d)
        self.c_attn = Conv1D(d, 2 * d)
        self.c_proj = Conv1D(d, d)

    def keys_values(self, encoder_states):
        d = self.q_attn.weight.shape[1]
        y = self.c_attn(encoder_states)
        return split_heads(y[..., :d], self.heads), split_heads(y[..., d:], self.heads)

    def forward(self, x, cross_key, cross_value):
        q = split_heads(self.q_attn(x), self.heads)
        return self.c_proj(merge_heads(attend(q, cross_key, cross_value)))


class GPT2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        inner = c.get("n_inner") or 4 * d
        self.c_fc = Conv1D(d, inner)
        self.c_proj = Conv1D(inner, d)
        self.act = ACTIVATIONS[c.get("activation_function", "gelu_new")]

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, eps = c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = GPT2SelfAttention(c)
        self.ln_cross_attn = nn.LayerNorm(d, eps=eps)
        self.crossattention = GPT2CrossAttention(c)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = GPT2MLP(c)

    def self_kv(self, x):
        return self.attn.keys_values(self.ln_1(x))

    def forward(self, x, past_key, past_value, cross_key, cross_value):
        a, k, v = self.attn(self.ln_1(x), past_key, past_value)
        x = x + a
        x = x + self.crossattention(self.ln_cross_attn(x), cross_key, cross_value)
        return x + self.mlp(self.ln_2(x)), k, v


class GPT2Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList(GPT2Block(c) for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c.get("layer_norm_epsilon", 1e-5))


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = GPT2Transformer(c)
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as GPT-2 is


class VisionEncoderDecoder(nn.Module):
    """Module names as Hugging Face's, so that its state dict loads as saved."""

    def __init__(self, config):
        super().__init__()
        enc, dec = config["encoder"], config["decoder"]
        self.config = config
        self.encoder = ViTModel(enc)
        self.decoder = GPT2LMHeadModel(dec)
        if enc["hidden_size"] != dec["n_embd"]:
            self.enc_to_dec_proj = nn.Linear(enc["hidden_size"], dec["n_embd"])

    @property
    def blocks(self):
        return self.decoder.transformer.h

    def encode(self, pixel_values):
        states = self.encoder(pixel_values)
        proj = getattr(self, "enc_to_dec_proj", None)
        return proj(states) if proj is not None else states

    def embed(self, input_ids, position_ids):
        t = self.decoder.transformer
        return t.wte(input_ids) + t.wpe(position_ids)

    def final_logits(self, hidden):
        return self.decoder.lm_head(self.decoder.transformer.ln_f(hidden))

    @torch.no_grad()
    def cached_greedy(self, pixel_values, start_id, eos_id, max_new_tokens):
        """Full-depth greedy decoding one position at a time with each layer's keys/values kept
        (as the runtime decodes): the same tokens as reference_greedy, far faster."""
        states = self.encode(pixel_values)
        cross = [block.crossattention.keys_values(states) for block in self.blocks]
        b = pixel_values.shape[0]
        heads = self.blocks[0].attn.heads
        d = self.decoder.transformer.wte.weight.shape[1]
        past = [(states.new_zeros(b, heads, 0, d // heads),) * 2 for _ in self.blocks]
        token = torch.full((b, 1), start_id, dtype=torch.long)
        done = torch.zeros(b, dtype=torch.bool)
        out = [[] for _ in range(b)]
        for position in range(max_new_tokens):
            h = self.embed(token, torch.full((b, 1), position, dtype=torch.long))
            for i, block in enumerate(self.blocks):
                h, k, v = block(h, past[i][0], past[i][1], *cross[i])
                past[i] = (k, v)
            token = self.final_logits(h[:, -1]).argmax(-1, keepdim=True)
            for r in range(b):
                if not done[r]:
                    if int(token[r, 0]) == eos_id:
                        done[r] = True
                    else:
                        out[r].append(int(token[r, 0]))
            if bool(done.all()):
                break
        return out

    @torch.no_grad()
    def reference_greedy(self, pixel_values, start_id, eos_id, max_new_tokens):
        """Full-depth greedy decoding the plain way: the whole prefix through every layer at
        every step, no caches (an independent check of the cached, per-layer export)."""
        states = self.encode(pixel_values)
        cross = [block.crossattention.keys_values(states) for block in self.blocks]
        b = pixel_values.shape[0]
        ids = torch.full((b, 1), start_id, dtype=torch.long)
        done = torch.zeros(b, dtype=torch.bool)
        out = [[] for _ in range(b)]
        for _ in range(max_new_tokens):
            t = ids.shape[1]
            h = self.embed(ids, torch.arange(t)[None, :].expand(b, t))
            for i, block in enumerate(self.blocks):
                empty = h.new_zeros(b, block.attn.heads, 0, h.shape[-1] // block.attn.heads)
                h, _, _ = block(h, empty, empty, *cross[i])
            nxt = self.final_logits(h[:, -1]).argmax(-1)
            for r in range(b):
                if not done[r]:
                    if int(nxt[r]) == eos_id:
                        done[r] = True
                    else:
                        out[r].append(int(nxt[r]))
            if bool(done.all()):
                break
            ids = torch.cat([ids, nxt[:, None]], dim=1)
        return out
