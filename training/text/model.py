"""A BERT-style encoder with an exit classifier after every layer."""
import math
from dataclasses import dataclass, asdict

import torch
from torch import nn


@dataclass(frozen=True)
class TextConfig:
    vocab_size: int
    num_labels: int = 2
    hidden: int = 256
    layers: int = 6
    heads: int = 4
    ffn: int = 512
    max_length: int = 64
    dropout: float = 0.1
    pad_id: int = 0

    def to_dict(self):
        return asdict(self)


class Embeddings(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.tokens = nn.Embedding(cfg.vocab_size, cfg.hidden, padding_idx=cfg.pad_id)
        self.positions = nn.Embedding(cfg.max_length, cfg.hidden)
        self.norm = nn.LayerNorm(cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        return self.drop(self.norm(self.tokens(input_ids) + self.positions(positions)))


class ExitHead(nn.Module):
    """Masked mean pooling, then a small classifier: one per layer."""

    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.norm = nn.LayerNorm(cfg.hidden)
        self.dense = nn.Linear(cfg.hidden, cfg.hidden)
        self.out = nn.Linear(cfg.hidden, cfg.num_labels)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, hidden, mask):
        weights = mask.to(hidden.dtype).unsqueeze(-1)
        pooled = (self.norm(hidden) * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.out(self.drop(torch.tanh(self.dense(pooled))))


class ExitLayer(nn.Module):
    """One encoder layer fused with its exit head: (hidden, mask) -> (hidden, logits)."""

    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            cfg.hidden, cfg.heads, cfg.ffn, cfg.dropout, activation="gelu",
            batch_first=True, norm_first=True,
        )
        self.head = ExitHead(cfg)

    def forward(self, hidden, mask):
        hidden = self.layer(hidden, src_key_padding_mask=mask == 0)
        return hidden, self.head(hidden, mask)


class MultiExitClassifier(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.cfg = cfg
        self.embeddings = Embeddings(cfg)
        self.layers = nn.ModuleList(ExitLayer(cfg) for _ in range(cfg.layers))
        self.apply(self._init)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, input_ids, mask):
        """Returns the logits of every exit, exit 1 first: (layers, batch, labels)."""
        hidden = self.embeddings(input_ids)
        logits = []
        for layer in self.layers:
            hidden, exit_logits = layer(hidden, mask)
            logits.append(exit_logits)
        return torch.stack(logits)


def exit_loss_weights(layers: int) -> torch.Tensor:
    """Exit i weighs i / sum(1..L), as the paper's code does: deep exits keep the final
    accuracy of a single-exit model while shallow ones still learn."""
    w = torch.arange(1, layers + 1, dtype=torch.float32)
    return w / w.sum()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
