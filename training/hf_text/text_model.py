"""Hugging Face's BERT, ALBERT and DistilBERT sequence classifiers in plain PyTorch, written from
transformers' modeling_bert.py, modeling_albert.py and modeling_distilbert.py (inference only:
no dropout, token type 0, absolute positions). Parameter names are Hugging Face's, so a
checkpoint's state dict loads by name; `layer_outputs` gives every layer's hidden states, which
is what the exit heads read.

Each architecture is split the way a text bundle runs it: `embed(ids)` (for ALBERT including the
projection from the embedding width to the hidden width), `layer(i, hidden, mask)` and
`classify(hidden)` (pooler and classifier on the first token)."""
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

KINDS = {
    "bert": "BertForSequenceClassification",
    "albert": "AlbertForSequenceClassification",
    "distilbert": "DistilBertForSequenceClassification",
}


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {"gelu": F.gelu, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh, "relu": F.relu}


@dataclass(frozen=True)
class Spec:
    """What the converter reads from config.json, in one vocabulary for the three kinds."""
    kind: str
    vocab: int
    hidden: int
    embedding: int  # ALBERT's factorised embedding width; the hidden width otherwise
    layers: int
    heads: int
    ffn: int
    positions: int
    type_vocab: int  # 0: no token type embeddings (DistilBERT)
    activation: str
    eps: float
    labels: int
    groups: int = 1  # ALBERT's layer groups (layer i runs group i * groups // layers)


def attention(q, k, v, mask, heads):
    """Multi-head scaled dot-product attention; mask is 1 for tokens, 0 for padding (B x S)."""
    b, s, d = q.shape
    dh = d // heads

    def split(x):
        return x.view(b, -1, heads, dh).transpose(1, 2)

    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(dh)
    # Hugging Face adds the dtype's minimum where the mask is 0 (modeling_bert's extended mask).
    scores = scores + (1.0 - mask[:, None, None, :].to(scores.dtype)) * torch.finfo(scores.dtype).min
    return (scores.softmax(-1) @ split(v)).transpose(1, 2).reshape(b, s, d)


# --- BERT -------------------------------------------------------------------------------------

class BertEmbeddings(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.word_embeddings = nn.Embedding(spec.vocab, spec.embedding)
        self.position_embeddings = nn.Embedding(spec.positions, spec.embedding)
        if spec.type_vocab > 0:
            self.token_type_embeddings = nn.Embedding(spec.type_vocab, spec.embedding)
        self.LayerNorm = nn.LayerNorm(spec.embedding, eps=spec.eps)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.word_embeddings(ids) + self.position_embeddings(positions)
        if hasattr(self, "token_type_embeddings"):
            x = x + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.query = nn.Linear(spec.hidden, spec.hidden)
        self.key = nn.Linear(spec.hidden, spec.hidden)
        self.value = nn.Linear(spec.hidden, spec.hidden)


class DenseNorm(nn.Module):
    """Dense, then LayerNorm of the sum with the residual (BertSelfOutput, BertOutput)."""

    def __init__(self, d_in, d_out, eps):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class BertAttention(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.self = BertSelfAttention(spec)
        self.output = DenseNorm(spec.hidden, spec.hidden, spec.eps)


class Dense(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)


class BertLayer(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.heads = spec.heads
        self.act = ACTIVATIONS[spec.activation]
        self.attention = BertAttention(spec)
        self.intermediate = Dense(spec.hidden, spec.ffn)
        self.output = DenseNorm(spec.ffn, spec.hidden, spec.eps)

    def forward(self, x, mask):
        s = self.attention.self
        ctx = attention(s.query(x), s.key(x), s.value(x), mask, self.heads)
        x = self.attention.output(ctx, x)
        return self.output(self.act(self.intermediate.dense(x)), x)


class BertEncoder(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(spec) for _ in range(spec.layers))


class BertModel(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.embeddings = BertEmbeddings(spec)
        self.encoder = BertEncoder(spec)
        self.pooler = Dense(spec.hidden, spec.hidden)


class BertForSequenceClassification(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.bert = BertModel(spec)
        self.classifier = nn.Linear(spec.hidden, spec.labels)

    def embed(self, ids):
        return self.bert.embeddings(ids)

    def layer(self, i, x, mask):
        return self.bert.encoder.layer[i](x, mask)

    def classify(self, x):
        return self.classifier(torch.tanh(self.bert.pooler.dense(x[:, 0])))


# --- ALBERT -----------------------------------------------------------------------------------

class AlbertAttention(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.heads = spec.heads
        self.query = nn.Linear(spec.hidden, spec.hidden)
        self.key = nn.Linear(spec.hidden, spec.hidden)
        self.value = nn.Linear(spec.hidden, spec.hidden)
        self.dense = nn.Linear(spec.hidden, spec.hidden)
        self.LayerNorm = nn.LayerNorm(spec.hidden, eps=spec.eps)

    def forward(self, x, mask):
        ctx = attention(self.query(x), self.key(x), self.value(x), mask, self.heads)
        return self.LayerNorm(x + self.dense(ctx))


class AlbertLayer(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.act = ACTIVATIONS[spec.activation]
        self.attention = AlbertAttention(spec)
        self.ffn = nn.Linear(spec.hidden, spec.ffn)
        self.ffn_output = nn.Linear(spec.ffn, spec.hidden)
        self.full_layer_layer_norm = nn.LayerNorm(spec.hidden, eps=spec.eps)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.full_layer_layer_norm(self.ffn_output(self.act(self.ffn(a))) + a)


class AlbertLayerGroup(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.albert_layers = nn.ModuleList([AlbertLayer(spec)])  # inner_group_num 1

    def forward(self, x, mask):
        for layer in self.albert_layers:
            x = layer(x, mask)
        return x


class AlbertTransformer(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.embedding_hidden_mapping_in = nn.Linear(spec.embedding, spec.hidden)
        self.albert_layer_groups = nn.ModuleList(AlbertLayerGroup(spec) for _ in range(spec.groups))


class AlbertModel(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.embeddings = BertEmbeddings(spec)
        self.encoder = AlbertTransformer(spec)
        self.pooler = nn.Linear(spec.hidden, spec.hidden)


class AlbertForSequenceClassification(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.albert = AlbertModel(spec)
        self.classifier = nn.Linear(spec.hidden, spec.labels)

    def embed(self, ids):
        return self.albert.encoder.embedding_hidden_mapping_in(self.albert.embeddings(ids))

    def layer(self, i, x, mask):
        # modeling_albert: group_idx = int(i / (num_hidden_layers / num_hidden_groups))
        group = int(i / (self.spec.layers / self.spec.groups))
        return self.albert.encoder.albert_layer_groups[group](x, mask)

    def classify(self, x):
        return self.classifier(torch.tanh(self.albert.pooler(x[:, 0])))


# --- DistilBERT -------------------------------------------------------------------------------

class DistilAttention(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.q_lin = nn.Linear(spec.hidden, spec.hidden)
        self.k_lin = nn.Linear(spec.hidden, spec.hidden)
        self.v_lin = nn.Linear(spec.hidden, spec.hidden)
        self.out_lin = nn.Linear(spec.hidden, spec.hidden)


class DistilFfn(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.lin1 = nn.Linear(spec.hidden, spec.ffn)
        self.lin2 = nn.Linear(spec.ffn, spec.hidden)


class TransformerBlock(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.heads = spec.heads
        self.act = ACTIVATIONS[spec.activation]
        self.attention = DistilAttention(spec)
        self.sa_layer_norm = nn.LayerNorm(spec.hidden, eps=spec.eps)
        self.ffn = DistilFfn(spec)
        self.output_layer_norm = nn.LayerNorm(spec.hidden, eps=spec.eps)

    def forward(self, x, mask):
        a = self.attention
        sa = self.sa_layer_norm(a.out_lin(attention(a.q_lin(x), a.k_lin(x), a.v_lin(x), mask, self.heads)) + x)
        return self.output_layer_norm(self.ffn.lin2(self.act(self.ffn.lin1(sa))) + sa)


class DistilTransformer(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.layer = nn.ModuleList(TransformerBlock(spec) for _ in range(spec.layers))


class DistilBertModel(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.embeddings = BertEmbeddings(spec)
        self.transformer = DistilTransformer(spec)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.distilbert = DistilBertModel(spec)
        self.pre_classifier = nn.Linear(spec.hidden, spec.hidden)
        self.classifier = nn.Linear(spec.hidden, spec.labels)

    def embed(self, ids):
        return self.distilbert.embeddings(ids)

    def layer(self, i, x, mask):
        return self.distilbert.transformer.layer[i](x, mask)

    def classify(self, x):
        return self.classifier(F.relu(self.pre_classifier(x[:, 0])))


MODELS = {"bert": BertForSequenceClassification, "albert": AlbertForSequenceClassification,
          "distilbert": DistilBertForSequenceClassification}


def build(spec):
    return MODELS[spec.kind](spec).eval()


def layer_outputs(model, ids, mask):
    """Every layer's hidden states (a list of L tensors, B x S x H) and the model's logits."""
    x = model.embed(ids)
    hidden = []
    for i in range(model.spec.layers):
        x = model.layer(i, x, mask)
        hidden.append(x)
    return hidden, model.classify(x)


class ExitHead(nn.Module):
    """An exit after a layer, of the model's own head's shape: BERT's and ALBERT's pooler (dense,
    tanh) and classifier, or DistilBERT's pre-classifier (dense, ReLU) and classifier, on the
    first token. Starts as a copy of the model's head."""

    def __init__(self, model):
        super().__init__()
        spec = model.spec
        self.relu = spec.kind == "distilbert"
        self.dense = nn.Linear(spec.hidden, spec.hidden)
        self.out = nn.Linear(spec.hidden, spec.labels)
        source = {"bert": lambda: model.bert.pooler.dense, "albert": lambda: model.albert.pooler,
                  "distilbert": lambda: model.pre_classifier}[spec.kind]()
        with torch.no_grad():
            self.dense.load_state_dict(source.state_dict())
            self.out.load_state_dict(model.classifier.state_dict())

    def forward(self, first):
        h = self.dense(first)
        return self.out(F.relu(h) if self.relu else torch.tanh(h))


def multiply_adds(spec, length):
    """Multiply-adds of one layer and of one exit head for one text of `length` tokens (matrix
    products only): what the counted speed-ups divide."""
    d, f, s = spec.hidden, spec.ffn, length
    layer = s * (4 * d * d + 2 * d * f) + 2 * s * s * d
    head = d * d + d * spec.labels
    return {"layer": layer, "head": head}
