"""GPT-2's byte-level BPE as OpenAI's encoder.py (github.com/openai/gpt-2, src/encoder.py, MIT)
runs it, step for step: the same pre-tokenising pattern (with the `regex` module, Debian's
python3-regex), the same byte-to-character table, the same merge loop (the lowest-ranked pair
first, merged left to right), and decoding with errors="replace". It is the reference the
project's tokenisation is checked against, so it imports nothing from the project.

The one change: encoder.py's later revision matches "<|endoftext|>" inside the pattern; the
corpus has no such text, and the version here keeps the original pattern.

Usage: python3 gpt2_reference.py --encoder encoder.json --bpe vocab.bpe --texts FILE
  FILE: JSON Lines with a "text" field. Prints one JSON line per text:
  {"ids": [...], "decoded": decode(ids)}.
"""
import argparse
import json

import regex

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_table():
    """Each byte to a printable character: printable Latin-1 bytes stand for themselves, the
    others (controls, space, soft hyphen...) for 256, 257, ... in byte order."""
    kept = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
            + list(range(ord("®"), ord("ÿ") + 1)))
    chars = kept[:]
    extra = 0
    for b in range(256):
        if b not in kept:
            kept.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(kept, chars)}


def pairs_of(word):
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class Gpt2Bpe:
    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.decoder = {v: k for k, v in encoder.items()}
        self.byte_encoder = byte_table()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = pairs_of(word)
        if not pairs:
            return [token]
        while True:
            best = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if best not in self.ranks:
                break
            first, second = best
            merged = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    merged.extend(word[i:])
                    break
                merged.extend(word[i:j])
                i = j
                if i < len(word) - 1 and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
            if len(word) == 1:
                break
            pairs = pairs_of(word)
        self.cache[token] = list(word)
        return list(word)

    def encode(self, text):
        ids = []
        for piece in PATTERN.findall(text):
            chars = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(chars))
        return ids

    def decode(self, ids):
        chars = "".join(self.decoder[i] for i in ids)
        return bytearray(self.byte_decoder[c] for c in chars).decode("utf-8", errors="replace")


def load(encoder_path, bpe_path):
    with open(encoder_path, encoding="utf-8") as f:
        encoder = json.load(f)
    with open(bpe_path, encoding="utf-8") as f:
        lines = f.read().split("\n")[1:-1]  # a version line first, a newline last
    return Gpt2Bpe(encoder, [tuple(line.split()) for line in lines])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--encoder", required=True)
    p.add_argument("--bpe", required=True)
    p.add_argument("--texts", required=True)
    args = p.parse_args()
    bpe = load(args.encoder, args.bpe)
    with open(args.texts, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                ids = bpe.encode(json.loads(line)["text"])
                print(json.dumps({"ids": ids, "decoded": bpe.decode(ids)}))


if __name__ == "__main__":
    main()
