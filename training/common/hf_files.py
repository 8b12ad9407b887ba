"""Reading (and, for the tests' tiny checkpoints, writing) the files of a Hugging Face model
folder that every converter reads: JSON files, the weights (model.safetensors read directly: an
8-byte header length, a JSON header, raw little-endian tensors; or pytorch_model.bin through
torch) and the tokenizer's vocabulary size. Errors name the file and the field or weight."""
import contextlib
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
          "U8": np.uint8, "BOOL": np.bool_}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


class ConvertError(Exception):
    """A problem with the input, said in terms of its file and field or weight."""


def read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ConvertError(f"{path}: not found ({what})")
    except (OSError, ValueError) as error:
        raise ConvertError(f"{path}: cannot read the {what} ({error})")


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ConvertError(f"{path}: not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as error:
        raise ConvertError(f"{path}: not a safetensors file (header: {error})")
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = DTYPES.get(info.get("dtype"))
        if dtype is None:
            raise ConvertError(f"{path}: weight {name!r} has dtype {info.get('dtype')!r}, not one this reads")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start:base + end], dtype=dtype).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float32) if dtype == np.float16 else array.copy())
    return tensors


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().contiguous().numpy()
        raw = a.tobytes()
        header[name] = {"dtype": NAMES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for c in chunks:
            f.write(c)


def read_weights(folder):
    st = os.path.join(folder, "model.safetensors")
    pt = os.path.join(folder, "pytorch_model.bin")
    if os.path.exists(st):
        return st, read_safetensors(st)
    if os.path.exists(pt):
        try:
            state = torch.load(pt, map_location="cpu")
        except Exception as error:  # torch raises many types for a bad file
            raise ConvertError(f"{pt}: cannot read the weights ({error})")
        if not isinstance(state, dict):
            raise ConvertError(f"{pt}: expected a state dict")
        return pt, state
    raise ConvertError(f"{folder}: no model.safetensors or pytorch_model.bin")


def token_count(tokenizer):
    """How many token ids a tokenizer.json uses (its model's vocabulary and the added tokens), or
    None when they are not 0..N-1. WordPiece and BPE keep a token -> id map; Unigram (SentencePiece,
    ALBERT's) a list of [piece, score] whose positions are the ids."""
    vocab = tokenizer.get("model", {}).get("vocab")
    if isinstance(vocab, dict):
        ids = set(vocab.values())
    elif isinstance(vocab, list):
        ids = set(range(len(vocab)))
    else:
        return None
    ids |= {t["id"] for t in tokenizer.get("added_tokens", [])}
    return len(ids) if ids == set(range(len(ids))) else None


def replace_folder(tmp, out):
    """Moves the finished folder `tmp` to `out`, replacing an older `out` only once the new one is
    complete: an interrupted conversion leaves the old bundle or nothing, never half of one."""
    parent = os.path.dirname(out) or "."
    if os.path.exists(out):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.old-", dir=parent)
        os.rename(out, os.path.join(old, "bundle"))
        os.rename(tmp, out)
        shutil.rmtree(old)
    else:
        os.rename(tmp, out)


class _Work:
    def __init__(self, out):
        self.out = out
        self.tmp = None

    def new(self):
        """The temporary folder beside --out that the bundle is written to."""
        parent = os.path.dirname(self.out) or "."
        self.tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(self.out)}.converting-", dir=parent)
        return self.tmp

    def finish(self):
        replace_folder(self.tmp, self.out)
        self.tmp = None


@contextlib.contextmanager
def conversion(out, errors=()):
    """The frame of a conversion to the folder `out`: `work.new()` makes the temporary folder,
    `work.finish()` moves it to `out`. A ConvertError (or one of `errors`) or an OSError is
    printed as `error: ...` and exits with status 1; the temporary folder never stays behind
    (unless the process is killed outright)."""
    work = _Work(out)
    try:
        yield work
    except (ConvertError, *errors) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except OSError as error:  # an output folder that cannot be written, a full disk
        print(f"error: {error.filename or out}: {error.strerror or error}", file=sys.stderr)
        sys.exit(1)
    finally:
        if work.tmp is not None:
            shutil.rmtree(work.tmp, ignore_errors=True)
