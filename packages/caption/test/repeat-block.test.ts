// Repetition limits: which tokens are banned next, and the best token left.
import { describe, expect, it } from "vitest";
import { softmax } from "@beem-ts/core";
import { RepeatGuard, bannedNext, bestAllowed } from "../src/repeat-block.js";

const ngram = (noRepeatNgram: number) => ({ noRepeatNgram, maxRun: 0 });
const run = (maxRun: number) => ({ noRepeatNgram: 0, maxRun });

describe("bannedNext", () => {
  it("noRepeatNgram: bans the tokens that would complete an n-gram already there", () => {
    // "a man in a red shirt and a man" -> "in" would repeat "a man in".
    const [a, man, inn, red, shirt, and] = [1, 2, 3, 4, 5, 6];
    const history = [a, man, inn, a, red, shirt, and, a, man];
    expect([...bannedNext(history, ngram(3))]).toEqual([inn]);
    // Bigrams: after "man", every token that followed "man" before.
    expect([...bannedNext(history, ngram(2))]).toEqual([inn]);
    expect([...bannedNext([a, man, a, red, a], ngram(2))].sort()).toEqual([man, red]);
    // Four-grams: "and a man" never came before.
    expect(bannedNext(history, ngram(4)).size).toBe(0);
  });

  it("noRepeatNgram: nothing before n - 1 tokens; n = 1 bans every token used; 0 is off", () => {
    expect([...bannedNext([7, 9, 9], ngram(3))]).toEqual([]);
    expect([...bannedNext([9, 9, 9], ngram(3))]).toEqual([9]);
    expect(bannedNext([], ngram(3)).size).toBe(0);
    expect(bannedNext([5], ngram(3)).size).toBe(0);
    expect([...bannedNext([4, 5], ngram(1))].sort()).toEqual([4, 5]);
    expect(bannedNext([4, 4, 4], ngram(0)).size).toBe(0);
  });

  it("maxRun: bans the token that would make its run longer than maxRun", () => {
    expect([...bannedNext([3, 7, 7], run(2))]).toEqual([7]);
    expect(bannedNext([7, 3, 7], run(2)).size).toBe(0);
    expect([...bannedNext([3, 7], run(1))]).toEqual([7]);
    expect(bannedNext([7], run(2)).size).toBe(0);
    expect(bannedNext([], run(1)).size).toBe(0);
    expect(bannedNext([7, 7, 7], run(0)).size).toBe(0);
    // Both limits at once.
    expect([...bannedNext([1, 2, 8, 1, 2, 2], { noRepeatNgram: 2, maxRun: 2 })].sort()).toEqual([
      2, 8,
    ]);
  });
});

describe("bestAllowed", () => {
  const logits = Float32Array.from([0.1, 3, 2, -1]);
  it("takes the best token outside the banned ones, over all ids or a shortlist", () => {
    const id = (...args: Parameters<typeof bestAllowed>) => bestAllowed(...args).id;
    expect(id(logits, undefined, new Set())).toBe(1);
    expect(id(logits, undefined, new Set([1]))).toBe(2);
    expect(id(logits, undefined, new Set([1, 2]))).toBe(0);
    // A shortlist head: logits follow its ids.
    expect(id(logits, [40, 41, 42, 43], new Set([41]))).toBe(42);
    expect(id(Float32Array.from([-Infinity, -5]), undefined, new Set([1]))).toBe(0);
  });

  it("gives the chosen token's soft-max probability among the exit's logits", () => {
    const p = softmax(logits);
    expect(bestAllowed(logits, undefined, new Set([1])).probability).toBeCloseTo(p[2]!, 12);
    expect(bestAllowed(logits, [40, 41, 42, 43], new Set([41, 42])).probability).toBeCloseTo(
      p[0]!,
      12,
    );
  });
});

describe("bestAllowed when every token is banned", () => {
  it("takes the best of all rather than none", () => {
    expect(bestAllowed(Float32Array.from([1, 2]), [5, 6], new Set([5, 6])).id).toBe(6);
  });
});

describe("RepeatGuard", () => {
  it("keeps allowed tokens, swaps a banned one for the exit's best allowed, per sequence", () => {
    const guard = new RepeatGuard({ maxRun: 1 }, 2);
    expect(guard.limited).toBe(true);
    let asked = 0;
    const scores = () => {
      asked++;
      return { logits: Float32Array.from([5, 4, 1]), ids: [7, 8, 9] };
    };
    expect(guard.take(0, 7, scores)).toBeUndefined();
    expect(guard.take(1, 7, scores)).toBeUndefined(); // the other sequence's history is its own
    expect(asked).toBe(0);
    expect(guard.take(0, 7, scores)).toMatchObject({ id: 8 });
    expect(asked).toBe(1);
    // The swapped token is what the history holds: 8 after 8 is banned next.
    expect(guard.take(0, 8, scores)).toMatchObject({ id: 7 });
  });

  it("without limits takes every token as it comes", () => {
    const guard = new RepeatGuard({}, 1);
    expect(guard.limited).toBe(false);
    for (let i = 0; i < 5; i++)
      expect(guard.take(0, 3, () => ({ logits: new Float32Array(1) }))).toBeUndefined();
  });
});
