"""An image captioner: a small CNN encoder and a GPT-2-style decoder with cross-attention and
an exit head after every decoder layer (per-exit LayerNorm, output projection tied to the token
embeddings)."""
import math
from dataclasses import dataclass, asdict

import torch
from torch import nn
import torch.nn.functional as F


@dataclass(frozen=True)
class CaptionConfig:
    vocab_size: int
    hidden: int = 192
    layers: int = 6
    heads: int = 4
    ffn: int = 512
    max_length: int = 40
    image_size: int = 96
    channels: tuple = (32, 64, 128, 192)
    dropout: float = 0.1
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    # Exit heads: per-exit LayerNorm + the output projection tied to the token embeddings (False),
    # or a separate projection per exit (True).
    separate_heads: bool = False

    def to_dict(self):
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @property
    def grid(self):
        return self.image_size // 16

    @property
    def head_dim(self):
        return self.hidden // self.heads


def conv_block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.GELU(),
        nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.GELU(),
    )


class ImageEncoder(nn.Module):
    """pixel_values (B, 3, S, S), normalised -> memory (B, (S/16)^2, hidden)."""

    def __init__(self, cfg: CaptionConfig):
        super().__init__()
        chans = [3, *cfg.channels]
        self.blocks = nn.Sequential(*[conv_block(a, b) for a, b in zip(chans, chans[1:])])
        self.proj = nn.Linear(chans[-1], cfg.hidden)
        self.pos = nn.Parameter(torch.zeros(1, cfg.grid * cfg.grid, cfg.hidden))
        self.norm = nn.LayerNorm(cfg.hidden)

    def forward(self, pixel_values):
        x = self.blocks(pixel_values)  # B, C, g, g
        x = x.flatten(2).transpose(1, 2)  # B, g*g, C
        return self.norm(self.proj(x) + self.pos)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: CaptionConfig):
        super().__init__()
        d = cfg.hidden
        self.cfg = cfg
        self.ln_self = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)
        self.ln_cross = nn.LayerNorm(d)
        self.cross_q = nn.Linear(d, d)
        self.cross_kv = nn.Linear(d, 2 * d)
        self.cross_out = nn.Linear(d, d)
        self.ln_mlp = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.ffn), nn.GELU(), nn.Linear(cfg.ffn, d))
        self.ln_exit = nn.LayerNorm(d)
        self.drop = nn.Dropout(cfg.dropout)

    def split(self, x):  # B, T, D -> B, H, T, Dh
        b, t, _ = x.shape
        return x.view(b, t, self.cfg.heads, self.cfg.head_dim).transpose(1, 2)

    def merge(self, x):  # B, H, T, Dh -> B, T, D
        b, h, t, dh = x.shape
        return x.transpose(1, 2).reshape(b, t, h * dh)

    def self_kv(self, hidden):
        """Keys and values of these positions: (B, H, T, Dh) each."""
        k, v = self.kv(self.ln_self(hidden)).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def cross_keys_values(self, memory):
        k, v = self.cross_kv(memory).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    @staticmethod
    def attend(q, k, v, mask=None):
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        return scores.softmax(-1) @ v

    def forward(self, hidden, past_k, past_v, cross_k, cross_v, causal=None):
        """hidden (B, T, D); past (B, H, P, Dh); returns hidden, present_k, present_v. Without
        cross-attention keys (None) the layer runs as a language model's (pre-training on text)."""
        q = self.split(self.q(self.ln_self(hidden)))
        k, v = self.self_kv(hidden)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        hidden = hidden + self.drop(self.out(self.merge(self.attend(q, k, v, causal))))
        if cross_k is not None:
            cq = self.split(self.cross_q(self.ln_cross(hidden)))
            hidden = hidden + self.drop(self.cross_out(self.merge(self.attend(cq, cross_k, cross_v))))
        hidden = hidden + self.drop(self.mlp(self.ln_mlp(hidden)))
        return hidden, k, v


class Captioner(nn.Module):
    """The decoder with its exit heads, and an image encoder: the scene CNN by default, or any
    module mapping the encoder's input to memory (B, S, hidden)."""

    def __init__(self, cfg: CaptionConfig, encoder: nn.Module = None):
        super().__init__()
        self.cfg = cfg
        self.encoder = ImageEncoder(cfg) if encoder is None else encoder
        self.tokens = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.positions = nn.Embedding(cfg.max_length, cfg.hidden)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.layers))
        self.heads = (nn.ModuleList(nn.Linear(cfg.hidden, cfg.vocab_size, bias=False) for _ in range(cfg.layers))
                      if cfg.separate_heads else None)
        self.drop = nn.Dropout(cfg.dropout)
        self.apply(self._init)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def embed(self, input_ids, start=0):
        positions = torch.arange(start, start + input_ids.shape[1], device=input_ids.device)
        return self.tokens(input_ids) + self.positions(positions).unsqueeze(0)

    def exit_logits(self, index, hidden):
        """Exit head of layer `index`: its own LayerNorm, then the projection tied to the embeddings
        (or the exit's own projection with `separate_heads`)."""
        normed = self.layers[index].ln_exit(hidden)
        if self.heads is not None:
            return self.heads[index](normed)
        return normed @ self.tokens.weight.t()

    def forward(self, pixel_values, input_ids, captions_per_image=1):
        """Teacher-forced logits of every exit: (L, B * captions_per_image, T, V)."""
        return self.decode(self.encoder(pixel_values), input_ids, captions_per_image)

    def decode(self, memory, input_ids, captions_per_image=1):
        """Teacher-forced logits of every exit from the image memory (None: as a language model,
        without cross-attention)."""
        if memory is not None and captions_per_image > 1:
            memory = memory.repeat_interleave(captions_per_image, dim=0)
        b, t = input_ids.shape
        hidden = self.drop(self.embed(input_ids))
        causal = torch.ones(t, t, dtype=torch.bool, device=input_ids.device).triu(1)
        empty = hidden.new_zeros(b, self.cfg.heads, 0, self.cfg.head_dim)
        out = []
        for i, layer in enumerate(self.layers):
            ck, cv = (None, None) if memory is None else layer.cross_keys_values(memory)
            hidden, _, _ = layer(hidden, empty, empty, ck, cv, causal)
            out.append(self.exit_logits(i, hidden))
        return torch.stack(out)


def exit_loss_weights(layers: int) -> torch.Tensor:
    w = torch.arange(1, layers + 1, dtype=torch.float32)
    return w / w.sum()


def warmup_cosine(step, total, warmup):
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def greedy(model, cfg, pixel_values, max_tokens=30):
    """Full-depth greedy decoding, one position at a time with caches (as the runtime does)."""
    memory = model.encoder(pixel_values)
    cross = [layer.cross_keys_values(memory) for layer in model.layers]
    b = pixel_values.shape[0]
    empty = memory.new_zeros(b, cfg.heads, 0, cfg.head_dim)
    past = [(empty, empty) for _ in model.layers]
    token = torch.full((b, 1), cfg.bos_id, dtype=torch.long, device=memory.device)
    out = []
    for pos in range(max_tokens):
        hidden = model.embed(token, pos)
        for i, layer in enumerate(model.layers):
            hidden, k, v = layer(hidden, past[i][0], past[i][1], *cross[i])
            past[i] = (k, v)
        token = model.exit_logits(cfg.layers - 1, hidden)[:, -1].argmax(-1, keepdim=True)
        out.append(token[:, 0].tolist())
        if all(t == cfg.eos_id for t in out[-1]) or all(cfg.eos_id in col for col in zip(*out)):
            break
    sequences = []
    for r in range(b):
        seq = []
        for step in out:
            if step[r] == cfg.eos_id:
                break
            seq.append(step[r])
        sequences.append(seq)
    return sequences
