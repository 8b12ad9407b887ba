// CIDEr-D as pycocoevalcap computes it (ciderD_scorer.py): tf-idf n-gram vectors (n = 1..4)
// with document frequencies from the evaluated images' references, clipped similarity,
// a Gaussian length penalty (sigma 6) and a factor 10, averaged over references, n and images.
import { ngramCounts, ngramOrder } from "./tokenize.js";

const N = 4;
const SIGMA = 6;

interface Vector {
  readonly weights: Map<string, number>[];
  readonly norms: number[];
  /** pycocoevalcap counts the bigrams here (its `n == 1` is the 0-based order). */
  readonly length: number;
}

function vectorOf(tokens: readonly string[], df: Map<string, number>, refLength: number): Vector {
  const weights = Array.from({ length: N }, () => new Map<string, number>());
  const norms = new Array<number>(N).fill(0);
  let length = 0;
  for (const [gram, tf] of ngramCounts(tokens, N)) {
    const k = ngramOrder(gram) - 1;
    const w = tf * (refLength - Math.log(Math.max(1, df.get(gram) ?? 0)));
    weights[k]!.set(gram, w);
    norms[k]! += w * w;
    if (k === 1) length += tf;
  }
  return { weights, norms: norms.map(Math.sqrt), length };
}

function similarity(hyp: Vector, ref: Vector): number[] {
  const delta = hyp.length - ref.length;
  const penalty = Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
  return hyp.weights.map((weights, k) => {
    let value = 0;
    for (const [gram, w] of weights) {
      const r = ref.weights[k]!.get(gram) ?? 0;
      value += Math.min(w, r) * r;
    }
    if (hyp.norms[k] !== 0 && ref.norms[k] !== 0) value /= hyp.norms[k]! * ref.norms[k]!;
    return value * penalty;
  });
}

/** Per-image CIDEr-D scores; the corpus score is their mean. */
export function ciderDScores(cands: readonly string[][], refs: readonly string[][][]): number[] {
  const df = new Map<string, number>();
  for (const imageRefs of refs) {
    const grams = new Set<string>();
    for (const ref of imageRefs) for (const gram of ngramCounts(ref, N).keys()) grams.add(gram);
    for (const gram of grams) df.set(gram, (df.get(gram) ?? 0) + 1);
  }
  const refLength = Math.log(refs.length);
  return cands.map((cand, i) => {
    const hyp = vectorOf(cand, df, refLength);
    const sum = new Array<number>(N).fill(0);
    for (const ref of refs[i]!) {
      similarity(hyp, vectorOf(ref, df, refLength)).forEach((v, k) => (sum[k]! += v));
    }
    const mean = sum.reduce((a, b) => a + b, 0) / N;
    return (mean / refs[i]!.length) * 10;
  });
}
