"""The photo captioner: MobileNetV2's 7 x 7 feature map (frozen, pretrained on ImageNet), projected
to the decoder's width, and the scene captioner's decoder (training/caption/model.py): GPT-2-style
layers with cross-attention and an exit head after every layer."""
import os
import sys
from dataclasses import dataclass, asdict

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "caption"))
from model import Captioner  # noqa: E402


@dataclass(frozen=True)
class PhotoCaptionConfig:
    vocab_size: int
    hidden: int = 320
    layers: int = 6
    heads: int = 5
    ffn: int = 1024
    max_length: int = 32
    dropout: float = 0.1
    features: int = 1280  # MobileNetV2's last feature map: channels
    grid: int = 7  # and side
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    separate_heads: bool = False

    def to_dict(self):
        return asdict(self)

    @property
    def head_dim(self):
        return self.hidden // self.heads

    @property
    def memory_length(self):
        """The grid's cells, then one token for the whole photo."""
        return self.grid * self.grid + 1


class FeatureProjector(nn.Module):
    """MobileNetV2 features (B, C, g, g) -> memory (B, g*g + 1, hidden): each cell projected with
    a learned position, then the mean over the cells (the photo as a whole) as one more token."""

    def __init__(self, cfg: PhotoCaptionConfig):
        super().__init__()
        self.cells = nn.Linear(cfg.features, cfg.hidden)
        self.whole = nn.Linear(cfg.features, cfg.hidden)
        self.pos = nn.Parameter(torch.zeros(1, cfg.memory_length, cfg.hidden))
        self.norm = nn.LayerNorm(cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, features):
        cells = features.flatten(2).transpose(1, 2)  # B, g*g, C
        whole = cells.mean(1, keepdim=True)
        x = torch.cat([self.cells(cells), self.whole(whole)], dim=1)
        return self.drop(self.norm(x + self.pos))


def photo_captioner(cfg: PhotoCaptionConfig) -> Captioner:
    """The decoder with a feature projector as its encoder (trained on cached features). Its
    cross-attention output projections start at zero, so a decoder pre-trained as a language
    model (cross-attention skipped) begins caption training unchanged."""
    model = Captioner(cfg, encoder=FeatureProjector(cfg))
    for layer in model.layers:
        nn.init.zeros_(layer.cross_out.weight)
    return model


class PhotoEncoder(nn.Module):
    """What the bundle's encoder graph computes: pixel_values -> MobileNetV2 features -> memory."""

    def __init__(self, backbone, projector):
        super().__init__()
        self.backbone, self.projector = backbone, projector

    def forward(self, pixel_values):
        return self.projector(self.backbone.features(pixel_values))


class ExitAdapter(nn.Module):
    """h -> h + B gelu(A h + a), before an early exit head's LayerNorm (exit_adapters.py): B starts
    at zero, so the adapted head starts as the trained one."""

    def __init__(self, hidden, rank):
        super().__init__()
        self.down = nn.Linear(hidden, rank)
        self.up = nn.Linear(rank, hidden)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, hidden):
        return hidden + self.up(F.gelu(self.down(hidden)))


def exit_adapters(cfg: PhotoCaptionConfig, rank: int) -> nn.ModuleList:
    """One adapter per early exit (layers 1 to L-1); rank 0: none (the heads' LayerNorms alone)."""
    return nn.ModuleList((ExitAdapter(cfg.hidden, rank) if rank else nn.Identity()) for _ in range(cfg.layers - 1))


# Fill maps (fill_maps.py): a skipped layer's input predicted from the exit's hidden state.
def with_bias(h):
    return torch.cat([h, torch.ones(*h.shape[:-1], 1)], -1)


def apply_map(h, m):
    U, V = m
    correction = with_bias(h) @ U
    return h + (correction if V is None else correction @ V)


def load_fills(path, cfg):
    """fill_maps.py's output: {(e, i): (U, V)} (0-based) and its record."""
    if not os.path.exists(path):
        sys.exit(f"{path}: no fill maps (run fill_maps.py first)")
    saved = torch.load(path, map_location="cpu")
    maps = {}
    for key, m in saved["maps"].items():
        e, i = (int(x) - 1 for x in key.split(","))
        U, V = m["U"], m["V"]
        if not (0 <= e and e + 2 <= i < cfg.layers) or U.shape[0] != cfg.hidden + 1 or \
                (V if V is not None else U).shape[-1] != cfg.hidden:
            sys.exit(f"{path}: fill map {key} does not fit this model ({cfg.to_dict()})")
        maps[e, i] = (U, V)
    return maps, saved["record"]
