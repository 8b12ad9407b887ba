"""Reading a Hugging Face BERT, ALBERT or DistilBERT sequence classifier folder: config.json (each
field the converter relies on checked by name), the weights (every one checked by name and
shape against the config) and the tokenizer files (checked against the embeddings)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from hf_files import ConvertError, read_json, read_weights, token_count  # noqa: E402
from text_model import ACTIVATIONS, KINDS, Spec, build  # noqa: E402


def _int(path, config, field, low=1, default=None):
    value = config.get(field, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConvertError(f"{path}: field {field!r} is {value!r}; expected an integer >= {low}")
    return value


def labels_of(path, config):
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        try:
            keys = sorted(int(k) for k in id2label)
        except ValueError:
            raise ConvertError(f"{path}: field 'id2label' must map label ids (0, 1, ...) to names")
        if keys != list(range(len(keys))):
            raise ConvertError(f"{path}: field 'id2label' must number its labels 0..N-1 (has {keys})")
        names = [str(id2label[str(k)] if str(k) in id2label else id2label[k]) for k in keys]
    else:
        names = [f"LABEL_{k}" for k in range(_int(path, config, "num_labels", 2))]
    if len(names) < 2:
        raise ConvertError(f"{path}: the classifier has {len(names)} label; early exit needs at least 2 classes")
    return names


def read_spec(path, config):
    """The Spec of config.json; unsupported settings refused by field."""
    kind = config.get("model_type")
    if kind not in KINDS:
        raise ConvertError(f"{path}: field 'model_type' is {kind!r}; this converter takes {', '.join(KINDS)}")
    arch = config.get("architectures")
    if not isinstance(arch, list) or KINDS[kind] not in arch:
        raise ConvertError(f"{path}: field 'architectures' is {arch!r}; this converter takes a sequence-classification "
                           f"head ({KINDS[kind]})")
    problem = config.get("problem_type")
    if problem not in (None, "single_label_classification"):
        raise ConvertError(f"{path}: field 'problem_type' is {problem!r}; only single-label classification "
                           "(softmax over the labels) is supported")
    labels = labels_of(path, config)
    if kind == "distilbert":
        hidden, layers, heads = _int(path, config, "dim"), _int(path, config, "n_layers"), _int(path, config, "n_heads")
        ffn = _int(path, config, "hidden_dim")
        activation = config.get("activation", "gelu")
        act_field, embedding, type_vocab, eps, groups = "activation", hidden, 0, 1e-12, 1
    else:
        hidden = _int(path, config, "hidden_size")
        layers = _int(path, config, "num_hidden_layers")
        heads = _int(path, config, "num_attention_heads")
        ffn = _int(path, config, "intermediate_size")
        type_vocab = _int(path, config, "type_vocab_size", 1, 2)
        eps = config.get("layer_norm_eps", 1e-12)
        if not isinstance(eps, (int, float)) or not 0 < eps < 1:
            raise ConvertError(f"{path}: field 'layer_norm_eps' is {eps!r}; expected a small positive number")
        act_field = "hidden_act"
        activation = config.get("hidden_act", "gelu_new" if kind == "albert" else "gelu")
        pos = config.get("position_embedding_type", "absolute")
        if pos != "absolute":
            raise ConvertError(f"{path}: field 'position_embedding_type' is {pos!r}; only 'absolute' is supported")
        embedding, groups = hidden, 1
        if kind == "albert":
            embedding = _int(path, config, "embedding_size", 1, 128)
            groups = _int(path, config, "num_hidden_groups", 1, 1)
            inner = _int(path, config, "inner_group_num", 1, 1)
            if inner != 1:
                raise ConvertError(f"{path}: field 'inner_group_num' is {inner}; only 1 (one layer per group) is supported")
            if layers % groups:
                raise ConvertError(f"{path}: field 'num_hidden_groups' {groups} does not divide num_hidden_layers {layers}")
        if config.get("is_decoder"):
            raise ConvertError(f"{path}: field 'is_decoder' is true; a classifier's encoder is bidirectional")
    if activation not in ACTIVATIONS:
        raise ConvertError(f"{path}: field {act_field!r} is {activation!r}; supported: {', '.join(ACTIVATIONS)}")
    if hidden % heads:
        raise ConvertError(f"{path}: the hidden width {hidden} does not divide by {heads} attention heads")
    if layers < 2:
        raise ConvertError(f"{path}: the model has {layers} layer; early exit needs at least 2")
    positions = _int(path, config, "max_position_embeddings")
    vocab = _int(path, config, "vocab_size")
    return Spec(kind=kind, vocab=vocab, hidden=hidden, embedding=embedding, layers=layers, heads=heads, ffn=ffn,
                positions=positions, type_vocab=type_vocab, activation=activation, eps=float(eps),
                labels=len(labels), groups=groups), labels


# Buffers some versions save beside the weights, pre-training heads a checkpoint may still carry
# (BERT's cls.*, ALBERT's predictions.* and sop_classifier.*, DistilBERT's vocab_*), and the
# legacy LayerNorm parameter names.
BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
UNUSED_HEADS = ("cls.", "predictions.", "sop_classifier.", "vocab_transform.", "vocab_layer_norm.",
                "vocab_projector.")
LEGACY = ((".gamma", ".weight"), (".beta", ".bias"))


def load_model(folder):
    """The model with the checkpoint's weights, its Spec and label names; every weight checked by
    name and shape."""
    cpath = os.path.join(folder, "config.json")
    config = read_json(cpath, "model config")
    spec, labels = read_spec(cpath, config)
    model = build(spec)
    wpath, state = read_weights(folder)
    expected = model.state_dict()
    clean = {}
    for name, tensor in state.items():
        if name.endswith(BUFFERS) or name.startswith(UNUSED_HEADS):
            continue
        for old, new in LEGACY:
            if "LayerNorm" in name and name.endswith(old):
                name = name[: -len(old)] + new
        if name not in expected:
            raise ConvertError(f"{wpath}: unexpected weight {name!r} (not part of a {KINDS[spec.kind]} with this config)")
        if not torch.is_tensor(tensor):
            raise ConvertError(f"{wpath}: weight {name!r} is not a tensor")
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ConvertError(f"{wpath}: weight {name!r} has shape {list(tensor.shape)}, expected "
                               f"{list(expected[name].shape)} from config.json")
        clean[name] = tensor.float()
    missing = [n for n in expected if n not in clean]
    if missing:
        raise ConvertError(f"{wpath}: missing weight {missing[0]!r}" +
                           (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    model.load_state_dict(clean)
    for p in model.parameters():
        p.requires_grad_(False)
    return model, spec, labels, config


def read_tokenizer(folder, spec):
    """tokenizer.json and tokenizer_config.json, checked against the embeddings; returns the
    padding id."""
    tpath = os.path.join(folder, "tokenizer.json")
    tokenizer = read_json(tpath, "tokenizer")
    read_json(os.path.join(folder, "tokenizer_config.json"), "tokenizer config")
    n = token_count(tokenizer)
    if n is None:
        raise ConvertError(f"{tpath}: its token ids are not 0..N-1 (a vocabulary with gaps or none)")
    if n > spec.vocab:
        raise ConvertError(f"{tpath}: {n} tokens, but config.json's vocab_size is {spec.vocab}: "
                           "this tokenizer does not belong to these embeddings")
    model = tokenizer.get("model", {})
    vocab = model.get("vocab")
    ids = dict(vocab) if isinstance(vocab, dict) else {t[0]: i for i, t in enumerate(vocab or [])}
    ids.update({t["content"]: t["id"] for t in tokenizer.get("added_tokens", [])})
    pad = next((ids[t] for t in ("[PAD]", "<pad>") if t in ids), None)
    if pad is None:
        raise ConvertError(f"{tpath}: no padding token ([PAD] or <pad>) in the vocabulary")
    return pad
