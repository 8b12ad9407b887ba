// Caption metrics on hand-worked examples of pycocoevalcap's formulas, tolerance 1e-9 unless said.
import { describe, expect, it } from "vitest";
import { ciderDScores, corpusBleu, metricTokens, rougeL, scoreCaptions } from "../src/index.js";

const t = (s: string) => s.split(" ");

describe("caption metrics", () => {
  it("tokenises as the PTB tokenizer leaves it: lower case, punctuation gone", () => {
    expect(metricTokens("A dog face, to the LEFT of a red apple.")).toEqual(
      t("a dog face to the left of a red apple"),
    );
  });

  // What Stanford CoreNLP's PTBTokenizer (pycocoevalcap's) gives, after pycocoevalcap drops
  // its punctuation tokens.
  it.each([
    ["The dog doesn't run", "the dog does n't run"],
    ["I can't see, it won't fit", "i ca n't see it wo n't fit"],
    ["it's a man's hat", "it 's a man 's hat"],
    [
      "I'm sure they're here and we've seen he'd go, we'll see",
      "i 'm sure they 're here and we 've seen he 'd go we 'll see",
    ],
    ["the dogs' bowls", "the dogs bowls"],
    ["a man in a t-shirt - smiling -- again", "a man in a t-shirt smiling again"],
    ["a well-known and/or 1/2 price", "a well-known and/or 1/2 price"],
    ["a $5 sign, 50% off", "a $ 5 sign 50 % off"],
    ["black & white at&t #1", "black & white at&t # 1"],
    ["(a cat) on [a mat] {x}", "a cat on a mat x"],
    ['a "quoted" word', "a quoted word"],
    ["3.5 mph. 1,000 birds, dogs,cats", "3.5 mph 1,000 birds dogs cats"],
    ["in the u.s. today", "in the u.s. today"],
    ["what?! wait... ok; fine: yes", "what wait ok fine yes"],
    ["at 1:30 pm", "at 1:30 pm"],
    ["it’s a “smart” car — fast", "it 's a smart car fast"],
  ])("PTB tokenisation of %j", (caption, tokens) => {
    expect(metricTokens(caption)).toEqual(t(tokens));
  });

  it("BLEU: a perfect match scores 1", () => {
    corpusBleu(
      [t("a dog face on a blue background")],
      [[t("a dog face on a blue background")]],
    ).forEach((s) => expect(s).toBeCloseTo(1, 6));
  });

  it("BLEU: brevity penalty and the tiny/small smoothing of empty n-gram orders", () => {
    // testlen 2, closest reflen 3: BP = exp(1 - 3/2); no 3- or 4-grams: (0 + 1e-15) / (0 + 1e-9).
    const [b1, b2, b3, b4] = corpusBleu([t("a dog")], [[t("a dog face")]]);
    const bp = Math.exp(-0.5);
    expect(b1).toBeCloseTo(bp, 8);
    expect(b2).toBeCloseTo(bp, 8);
    expect(b3! / bp).toBeCloseTo(1e-6 ** (1 / 3), 9);
    expect(b4! / bp).toBeCloseTo(1e-12 ** (1 / 4), 9);
  });

  it("BLEU: the closest reference length, ties to the shorter", () => {
    // candidate of 3 words, references of 2 and 4 words: reflen 2, no penalty; clipped counts.
    const [b1] = corpusBleu([t("dog dog dog")], [[t("a dog"), t("a dog and cat")]]);
    expect(b1).toBeCloseTo(1 / 3, 9);
  });

  it("ROUGE-L: best precision and recall of the LCS, beta 1.2", () => {
    const p = 4 / 5;
    const r = 4 / 6;
    expect(rougeL(t("a cat on a mat"), [t("a cat sat on the mat")])).toBeCloseTo(
      ((1 + 1.44) * p * r) / (r + 1.44 * p),
      12,
    );
    expect(rougeL(t("zebra"), [t("a cat")])).toBe(0);
  });

  it("CIDEr-D: idf over images, clipped tf-idf cosine per n, x10", () => {
    // "a" is in every image's references: idf 0. Unigram and bigram cosines are 1, 3- and
    // 4-grams absent: mean 0.5, x10 = 5 per correct image, 0 for the wrong one.
    expect(ciderDScores([t("a dog"), t("a cat")], [[t("a dog")], [t("a cat")]])).toEqual([5, 5]);
    const mixed = ciderDScores([t("a cat"), t("a cat")], [[t("a dog")], [t("a cat")]]);
    expect(mixed[0]).toBe(0);
    expect(mixed[1]).toBeCloseTo(5, 12);
  });

  it("CIDEr-D: the Gaussian length penalty counts bigrams (pycocoevalcap's quirk)", () => {
    // Candidate "x y z" (2 bigrams) against reference "x y z w v" (4 bigrams): delta -2.
    const [withPenalty] = ciderDScores([t("x y z"), t("q r")], [[t("x y z w v")], [t("q r")]]);
    const penalty = Math.exp(-4 / 72);
    // idf is log(2) for every n-gram here (each occurs in one image).
    const w = Math.log(2);
    const cos = (shared: number, hypCount: number, refCount: number) =>
      (shared * w * w) / (Math.sqrt(hypCount) * w * Math.sqrt(refCount) * w);
    const expected = ((cos(3, 3, 5) + cos(2, 2, 4) + cos(1, 1, 3) + 0) / 4) * 10 * penalty;
    expect(withPenalty).toBeCloseTo(expected, 12);
  });

  it("scores a corpus from the command's JSON shape", () => {
    const s = scoreCaptions({
      refs: { a: ["A dog face.", "a dog face on blue"], b: ["a red apple", "an apple"] },
      cands: { a: "a dog face", b: "a red apple" },
    });
    expect(Object.keys(s)).toEqual(["bleu1", "bleu2", "bleu3", "bleu4", "rougeL", "ciderD"]);
    expect(s.bleu1).toBeCloseTo(1, 6);
    expect(s.rougeL).toBeCloseTo(1, 12);
    expect(s.ciderD).toBeGreaterThan(0);
  });

  it("rejects candidates without references", () => {
    expect(() => scoreCaptions({ refs: {}, cands: { x: "a dog" } })).toThrow(
      /refs\["x"\] to be a non-empty array/,
    );
    expect(() => scoreCaptions({ refs: {}, cands: {} })).toThrow(/at least one caption/);
  });
});
