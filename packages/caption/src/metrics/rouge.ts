// ROUGE-L as pycocoevalcap computes it (rouge.py): best precision and best recall of the
// longest common subsequence over the references, F-measure with beta 1.2, mean over images.

const BETA = 1.2;

function lcs(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = a[i - 1] === b[j - 1] ? diagonal + 1 : Math.max(up, row[j - 1]!);
      diagonal = up;
    }
  }
  return row[b.length]!;
}

export function rougeL(cand: readonly string[], refs: readonly string[][]): number {
  let precision = 0;
  let recall = 0;
  for (const ref of refs) {
    const common = lcs(ref, cand);
    precision = Math.max(precision, cand.length === 0 ? 0 : common / cand.length);
    recall = Math.max(recall, ref.length === 0 ? 0 : common / ref.length);
  }
  if (precision === 0 || recall === 0) return 0;
  return ((1 + BETA ** 2) * precision * recall) / (recall + BETA ** 2 * precision);
}

export function corpusRougeL(cands: readonly string[][], refs: readonly string[][][]): number {
  return cands.reduce((s, c, i) => s + rougeL(c, refs[i]!), 0) / cands.length;
}
