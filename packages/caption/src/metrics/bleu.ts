// Corpus BLEU-1..4 as pycocoevalcap computes it (bleu_scorer.py, option "closest").
import { ngramCounts, ngramOrder } from "./tokenize.js";

const TINY = 1e-15;
const SMALL = 1e-9;

/** BLEU-1..4 over the corpus; `refs[i]` are the references of candidate `cands[i]`. */
export function corpusBleu(
  cands: readonly string[][],
  refs: readonly string[][][],
  n = 4,
): number[] {
  let testLength = 0;
  let refLength = 0;
  const guess = new Array<number>(n).fill(0);
  const correct = new Array<number>(n).fill(0);
  cands.forEach((cand, i) => {
    const maxRef = new Map<string, number>();
    for (const ref of refs[i]!) {
      for (const [gram, c] of ngramCounts(ref, n))
        maxRef.set(gram, Math.max(maxRef.get(gram) ?? 0, c));
    }
    // The reference length closest to the candidate's; ties go to the shorter.
    let best = Infinity;
    let closest = 0;
    for (const ref of refs[i]!) {
      const d = Math.abs(ref.length - cand.length);
      if (d < best || (d === best && ref.length < closest)) {
        best = d;
        closest = ref.length;
      }
    }
    testLength += cand.length;
    refLength += closest;
    for (let k = 0; k < n; k++) guess[k]! += Math.max(0, cand.length - k);
    for (const [gram, c] of ngramCounts(cand, n)) {
      correct[ngramOrder(gram) - 1]! += Math.min(c, maxRef.get(gram) ?? 0);
    }
  });
  const scores: number[] = [];
  let product = 1;
  for (let k = 0; k < n; k++) {
    product *= (correct[k]! + TINY) / (guess[k]! + SMALL);
    scores.push(product ** (1 / (k + 1)));
  }
  const ratio = (testLength + TINY) / (refLength + SMALL);
  return ratio < 1 ? scores.map((s) => s * Math.exp(1 - 1 / ratio)) : scores;
}
