"""Writes the tokeniser test corpus: strings that break tokenisers, generated deterministically
(the same file on every run, no randomness outside a seeded generator).

Kinds: ordinary English sentences; accents and combining marks (precomposed and decomposed,
marks outside U+0300-U+036F); Greek upper case with final sigma ("ΣΟΦΟΣ"); Turkish dotted and
dotless i; CJK (unified ideographs of every block the tokenisers name, the supplementary planes,
compatibility ideographs, kana, hangul, full-width forms); emoji, skin tones, flags, keycaps and
ZWJ sequences; control, format and zero-width characters and every kind of space; mixed scripts;
long words (100 and 101 characters and more); numbers and punctuation runs; contractions in both
cases; leading, trailing and repeated spaces; and random mixtures of all of them.

Characters are those of Unicode 14 (the Python here), so that the references and Node agree on
what a character is; a few code points unassigned in every version are included on purpose.

Usage: python3 corpus.py --out FILE [--seed 29]
  FILE: JSON Lines of {"kind": ..., "text": ...}.
"""
import argparse
import json
import random
import unicodedata

WORDS = ("the a an of to and in is was it that for on with as at by this from be are not but or "
         "have had one all we they you he she his her their what which when there been were can "
         "photo picture man woman dog cat bird kite tree street car bus train table plate pizza "
         "sitting standing walking holding riding next near front top large small red blue green "
         "white black young old group people two three field water beach snow grass building "
         "tokenisation checkpoint vocabulary unbelievably antidisestablishmentarianism "
         "quick brown fox jumps over lazy").split()
ACCENTED = ("café naïve résumé Crème brûlée façade jalapeño São Paulo Zürich Ångström Øresund "
            "Łódź Dvořák Ñandú Tiếng Việt coöperate piñata Mötley Crüe Beyoncé Škoda Ærøskøbing "
            "Straße Għajnsielem ÉCOLE ÀÉÎÕÜ ǅemal ǈubljana").split()
MARKS = ["\u0301", "\u0300", "\u0308", "\u0327", "\u030c", "\u0323", "\u0483", "\u05b0", "\u05bc",
         "\u064b", "\u0650", "\u094d", "\u093c", "\u0e31", "\u0e48", "\u1ab0", "\u1dc0", "\u20d7",
         "\ufe20", "\u302a", "\u0903", "\u0488", "\u20dd"]  # Mn in and outside U+0300-036F, Mc, Me
GREEK = ("ΣΟΦΟΣ ΟΔΥΣΣΕΥΣ ὈΔΥΣΣΕΎΣ ΣΙΣΥΦΟΣ ΚΟΣΜΟΣ ΑΣ ΣΣ Σ ΌΣΟΣ ΦΙΛΟΣΟΦΟΣ Ἀθῆναι ΑΘΗΝΑ ΣΧΟΛΕΙΟ "
         "σοφός κόσμος Ελληνικά ΕΛΛΗΝΙΚΆ ΐ ΰ ς Ϲ ϲ ΣΑΣ ΛΟΓΟΣ.").split()
TURKISH = ("İstanbul ISTANBUL IĞDIR DİYARBAKIR ıi İI Iı iİ KIRMIZI kırmızı ŞEHİR Çağrı "
           "ÖĞRENCİ İİİ ııı İ I ı i ÇİĞ").split()
CJK = ["中文分词测试", "我喜欢吃苹果。", "東京は日本の首都です", "ひらがなとカタカナ", "한국어 문장입니다",
       "漢字かな交じり文", "中华人民共和国", "𠀀𠀁𠮷野家", "𪜀𫝀𫠠𫡠𬺰", "豈更車", "丽丸乁",
       "ＡＢＣ１２３！", "ｶﾀｶﾅ", "〇一二三", "㐀㐁㐂", "中a文b字", "Python是一种语言", "2024年12月5日",
       "「引用」『二重』", "、。・ー", "\U0002b820\U0002b91f\U0002b920",
       "\U00030000\U0003134a", "⺀⻳⼀", "ㄅㄆㄇ", "각"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "1️⃣", "❤️", "🧑‍💻", "👩🏾‍🚀", "🐈‍⬛", "😶‍🌫️",
         "🤷‍♂️", "#️⃣", "🫠", "☕", "✌🏿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👁️‍🗨️", "💯", "🙏🏻"]
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\r\n", "\x1b", "\x1c",
           "\x1f", "\x7f", "\x85", "\x9f", "\u00ad", "\u200b", "\u200c", "\u200d", "\u200e", "\u2060",
           "\ufeff", "\ufffd", "\ue000", "\U000f0000", "\u0378", "\ufdd0", "\u061c", "\u180e",
           "\U000e0001", "\ufff9"]
SPACES = [" ", "  ", "\u00a0", "\u1680", "\u2000", "\u2003", "\u2009", "\u200a", "\u2028", "\u2029",
          "\u202f", "\u205f", "\u3000", "\t\t", " \n "]
SCRIPTS = ["Привет мир", "ПРИВЕТ", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
           "Γειά σου Κόσμε", "გამარჯობა", "Բարեւ", "ሰላም", "வணக்கம்", "ខ្មែរ", "ᏣᎳᎩ", "ᚠᚢᚦ",
           "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐁𝐨𝐥𝐝", "ℌℑℜ", "Ⅻ ⅻ", "ﬁﬂ", "Ǳ ǲ ǳ", "ẞ ß", "ŉ", "ﬀ"]
PUNCT = ["!!!", "???", "?!", "...", "…", "---", "—", "–", "''", '""', "“quoted”", "‘single’", "«»",
         "¿¡", "()", "[]", "{}", "<>", "@#$%^&*", "~`|\\", "_", "__init__", "::", "->", "=>", "§¶",
         "†‡", "©®™", "°", "±×÷", "€$£¥", "¢", "‰", "‽", "⁂", "、", "。", "，", "！", "〜", "・"]
NUMBERS = ["0", "7", "42", "3.14159", "1,000,000", "-17", "+1", "1e10", "0x1F", "2024-12-05",
           "12:30:45", "½", "¾", "²", "³", "①", "٣", "۳", "३", "๓", "Ⅳ", "10%", "$9.99", "1st",
           "2nd", "007", "1/2", "3×4", "99.9%", "1.2.3", "+44 20 7946 0958"]
CONTRACTIONS = ["don't", "DON'T", "I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "it's",
                "IT'S", "she'll", "SHE'LL", "he'd", "HE'D", "can't", "o'clock", "rock'n'roll",
                "'s", "'t", "''s", "’s"]


def assigned(text):
    """Every character assigned in this Python's Unicode, or one of the known unassigned ones."""
    return all(unicodedata.category(c) != "Cn" or c in ("\u0378", "\ufdd0") for c in text)


def english(rng):
    n = rng.randint(3, 16)
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.4:
        words[0] = words[0].capitalize()
    text = " ".join(words)
    return text + rng.choice(["", ".", "!", "?", ",", " .", "..."])


def accents(rng):
    k = rng.random()
    if k < 0.3:
        return " ".join(rng.sample(ACCENTED, rng.randint(1, 4)))
    if k < 0.5:
        return unicodedata.normalize("NFD", " ".join(rng.sample(ACCENTED, rng.randint(1, 3))))
    if k < 0.65:
        return unicodedata.normalize("NFKD", " ".join(rng.sample(ACCENTED, 2))).upper()
    base = rng.choice(["a", "e", "o", "Z", "x", "ш", "ب", "क", "ก", "ב", "Σ", "İ", "1", " ", "!"])
    marks = "".join(rng.choice(MARKS) for _ in range(rng.randint(1, 5)))
    return rng.choice(WORDS) + " " + base + marks + rng.choice(["", "word", " word", marks])


def greek(rng):
    words = rng.sample(GREEK, rng.randint(1, 4))
    sep = rng.choice([" ", ", ", ". ", "-", ""])
    text = sep.join(words)
    if rng.random() < 0.3:
        text = text + rng.choice(["!", ".", ";", "·", " ok"])
    return text if rng.random() < 0.5 else rng.choice(WORDS) + " " + text


def turkish(rng):
    return " ".join(rng.choice(TURKISH) for _ in range(rng.randint(1, 5))) + rng.choice(["", ".", "!"])


def cjk(rng):
    parts = [rng.choice(CJK) for _ in range(rng.randint(1, 3))]
    return rng.choice(["", " "]).join(parts) + rng.choice(["", " the end", "。"])


def emoji(rng):
    parts = [rng.choice(EMOJI) for _ in range(rng.randint(1, 4))]
    glue = rng.choice(["", " ", " and ", "\u200d"])
    text = glue.join(parts)
    return rng.choice(["", "I love ", "Great job", "😀😀 "]) + text + rng.choice(["", "!", " ok"])


def control(rng):
    a, b = rng.choice(WORDS), rng.choice(WORDS)
    c = "".join(rng.choice(CONTROL) for _ in range(rng.randint(1, 3)))
    return rng.choice([a + c + b, c + a, a + c, a + " " + c + " " + b, c])


def spaces(rng):
    a, b = rng.choice(WORDS), rng.choice(WORDS)
    s = rng.choice(SPACES)
    t = rng.choice(SPACES)
    return rng.choice([s + a, a + s, s + a + s, a + s + b, s + a + t + b + s, s, s + t,
                       a + "   " + b, " " + a + "  " + b + "   "])


def mixed(rng):
    pool = [rng.choice(SCRIPTS), rng.choice(WORDS), rng.choice(CJK), rng.choice(GREEK),
            rng.choice(ACCENTED), rng.choice(EMOJI), rng.choice(NUMBERS)]
    rng.shuffle(pool)
    return rng.choice([" ", "", "-", "/"]).join(pool[:rng.randint(2, 5)])


def long_word(rng):
    k = rng.random()
    if k < 0.25:
        n = rng.choice([99, 100, 101, 102, 150, 300])
        return "".join(rng.choice("abcdefghij") for _ in range(n))
    if k < 0.45:
        n = rng.choice([99, 100, 101])
        return rng.choice(WORDS) + " " + "é" * n + " " + rng.choice(WORDS)
    if k < 0.6:
        return "e\u0301" * rng.choice([50, 51, 99, 100, 101])
    if k < 0.75:
        return "https://example.com/" + "/".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30)))
    if k < 0.85:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(50, 250)))
    return rng.choice(WORDS).capitalize() * rng.randint(10, 40)


def punctuation(rng):
    parts = [rng.choice(PUNCT + NUMBERS + CONTRACTIONS + WORDS) for _ in range(rng.randint(1, 6))]
    return rng.choice(["", " "]).join(parts)


def random_mix(rng):
    pool = (WORDS + ACCENTED + GREEK + TURKISH + CJK + EMOJI + CONTROL + SPACES + SCRIPTS + PUNCT
            + NUMBERS + CONTRACTIONS + MARKS)
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 12)))


KINDS = [("english", english, 400), ("accents", accents, 250), ("greek", greek, 180),
         ("turkish", turkish, 120), ("cjk", cjk, 200), ("emoji", emoji, 180), ("control", control, 220),
         ("spaces", spaces, 150), ("mixed", mixed, 200), ("long", long_word, 140),
         ("punctuation", punctuation, 250), ("random", random_mix, 300)]
FIXED = ["", " ", "ΣΟΦΟΣ", "ΣΟΦΟΣ ΚΑΙ ΚΟΣΜΟΣ", "İstanbul", "DİYARBAKIR", "I", "ı", "👨‍👩‍👧‍👦",
         "Hello, world!", "hello world", " Hello world ", "a" * 100, "a" * 101, "[MASK] is [UNK]",
         "the [CLS] token", "x[SEP]y", "[mask]", "don't DON'T", "\u200b", "\ufeff hello"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=29)
    args = p.parse_args()
    rng = random.Random(args.seed)
    rows = [("fixed", t) for t in FIXED]
    seen = set(FIXED)
    for kind, make, count in KINDS:
        made = 0
        while made < count:
            text = make(rng)
            if text not in seen and assigned(text):
                seen.add(text)
                rows.append((kind, text))
                made += 1
    with open(args.out, "w", encoding="utf-8") as f:
        for kind, text in rows:
            f.write(json.dumps({"kind": kind, "text": text}, ensure_ascii=True) + "\n")
    print(f"{args.out}: {len(rows)} strings")


if __name__ == "__main__":
    main()
