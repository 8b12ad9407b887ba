"""BERT's WordPiece tokenisation as Hugging Face's tokenizers library (the Rust code behind
tokenizer.json, which BERT-family checkpoints ship) runs it, written from its source
(tokenizers/src/normalizers/bert.rs, pre_tokenizers/bert.rs, models/wordpiece/mod.rs), so that
the project's tokenisation is checked against it rather than against itself:

1. special tokens ([CLS], [SEP], [PAD], [MASK], [UNK]: not normalised) are split out of the raw
   text first, longest first, leftmost;
2. BertNormalizer on each remaining piece, in this order:
   clean_text: drop U+0000, U+FFFD and every character of category C (Cc, Cf, Cn, Co, Cs) except
   tab, newline and carriage return; then every White_Space character (and tab, newline,
   carriage return) becomes a space;
   handle_chinese_chars: a space either side of each character of the CJK blocks bert.rs lists
   (note its third-plane range starts at U+2B920, not U+2B820 as the Python BertTokenizer's);
   strip_accents (when lowercase, unless set): NFD, then drop every nonspacing mark (Mn);
   lowercase: ONE CHARACTER AT A TIME (Rust's char::to_lowercase): no final-sigma rule, so
   "ΣΟΦΟΣ" gives "σοφοσ" where Python's str.lower() and JavaScript's toLowerCase() give "σοφος";
3. BertPreTokenizer: split on White_Space (removed), then isolate each punctuation character
   (ASCII punctuation and Unicode categories P*);
4. WordPiece: a word of more than 100 characters (code points) is [UNK]; otherwise greedy
   longest-match-first, continuation pieces prefixed "##", and a word with a part no piece
   matches is a single [UNK];
5. [CLS] ... [SEP].

Usage: python3 wordpiece_reference.py --vocab vocab.txt --texts FILE [--cased]
  FILE: JSON Lines with a "text" field. Prints one JSON line per text: {"ids": [...]}.
"""
import argparse
import json
import unicodedata

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Unicode's White_Space property, which Rust's char::is_whitespace follows (Python's
# str.isspace() differs: it also takes U+001C-U+001F).
WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                  "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
       (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def is_chinese(c):
    return any(a <= ord(c) <= b for a, b in CJK)


def is_punctuation(c):
    cp = ord(c)
    ascii_punct = 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126
    return ascii_punct or unicodedata.category(c).startswith("P")


def normalize(text, lowercase=True, strip_accents=None):
    text = "".join(" " if c in WHITE_SPACE else c for c in text
                   if not (c == "\x00" or c == "\ufffd" or is_control(c)))
    text = "".join(f" {c} " if is_chinese(c) else c for c in text)
    if lowercase if strip_accents is None else strip_accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    if lowercase:
        text = "".join(c.lower() for c in text)
    return text


def pre_tokenize(text):
    words = []
    for chunk in "".join(" " if c in WHITE_SPACE else c for c in text).split(" "):
        word = ""
        for c in chunk:
            if is_punctuation(c):
                if word:
                    words.append(word)
                words.append(c)
                word = ""
            else:
                word += c
        if word:
            words.append(word)
    return words


def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while start < end:
            piece = ("##" if start > 0 else "") + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if start == end:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def split_specials(text):
    """[(piece, is_special)]: the special tokens found leftmost, the longest at each place."""
    out, plain, i = [], "", 0
    while i < len(text):
        match = max((s for s in SPECIALS if text.startswith(s, i)), key=len, default=None)
        if match is None:
            plain += text[i]
            i += 1
            continue
        if plain:
            out.append((plain, False))
            plain = ""
        out.append((match, True))
        i += len(match)
    if plain:
        out.append((plain, False))
    return out


def encode(text, vocab, lowercase=True):
    tokens = []
    for piece, special in split_specials(text):
        if special:
            tokens.append(piece)
            continue
        for word in pre_tokenize(normalize(piece, lowercase)):
            tokens.extend(wordpiece(word, vocab))
    return [vocab["[CLS]"], *(vocab[t] for t in tokens), vocab["[SEP]"]]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vocab", required=True)
    p.add_argument("--texts", required=True)
    p.add_argument("--cased", action="store_true", help="no lower-casing (nor accent stripping)")
    args = p.parse_args()
    with open(args.vocab, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    with open(args.texts, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                print(json.dumps({"ids": encode(json.loads(line)["text"], vocab, not args.cased)}))


if __name__ == "__main__":
    main()
