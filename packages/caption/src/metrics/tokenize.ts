// Caption text to tokens as the metrics see it: lower case, punctuation removed (as
// pycocoevalcap's PTB tokenizer does before scoring), split on white space.

export function metricTokens(caption: string): string[] {
  return caption
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s']/gu, " ")
    .replace(/'/g, " '")
    .split(/\s+/)
    .filter((t) => t !== "" && t !== "'");
}

/** Counts of every n-gram of length 1..n, keyed by the words joined with a space. */
export function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let k = 1; k <= n; k++) {
    for (let i = 0; i + k <= tokens.length; i++) {
      const gram = tokens.slice(i, i + k).join(" ");
      counts.set(gram, (counts.get(gram) ?? 0) + 1);
    }
  }
  return counts;
}

export function ngramOrder(gram: string): number {
  let n = 1;
  for (const ch of gram) if (ch === " ") n++;
  return n;
}
