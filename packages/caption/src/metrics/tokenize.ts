// Caption text to tokens as pycocoevalcap scores them: its PTBTokenizer runs Stanford CoreNLP's
// PTBTokenizer (3.4.1, `-preserveLines -lowerCase`) and then drops the punctuation tokens
// '' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;
//
// Written after CoreNLP's rules for what captions hold:
// - clitics split as the Penn Treebank does: "don't" -> do n't, "can't" -> ca n't, "won't" ->
//   wo n't, "it's" -> it 's, and 'm 'd 're 've 'll; a plural possessive "dogs'" -> dogs ' (the
//   lone ' then dropped);
// - hyphenated words ("t-shirt", "well-known") and slashed ones ("and/or", "1/2") stay one
//   token; a lone "-" or "--" is dropped;
// - "$" and "#" before a word, and "%" after one, are tokens of their own and kept, as is "&"
//   between spaces ("at&t" stays one token);
// - numbers keep their inner "." "," and ":" ("3.5", "1,000", "1:30"); letters with inner periods ("u.s.")
//   stay one token; any other "." "," ";" ":" "!" "?" and brackets and quotes split off and
//   are dropped.
// Not reproduced: CoreNLP's list of abbreviations that keep a final period ("mr.", "st."; here
// the period is dropped), its handling of Unicode quotes and dashes beyond ’ “ ” – —, and
// emoticons. Scene captions hold none of these.

/** The tokens pycocoevalcap drops after tokenising. */
const DROPPED = new Set(["''", "'", "``", "`", ".", "?", "!", ",", ":", "-", "--", "...", ";"]);

/** Clitics split off the end of a word, longest first. */
const CLITICS = ["n't", "'ll", "'re", "'ve", "'s", "'m", "'d"];

function splitWord(word: string, out: string[]): void {
  // Leading "$" and "#", trailing "%".
  while (/^[$#]./.test(word)) {
    out.push(word[0]!);
    word = word.slice(1);
  }
  const tail: string[] = [];
  while (/.%$/.test(word)) {
    tail.unshift("%");
    word = word.slice(0, -1);
  }
  // Commas and colons not inside a number ("1,000", "1:30"), and other separators, split it.
  const parts = word.split(/(?<!\d)[,:]|[,:](?!\d)|[;!?()[\]{}"`]/);
  for (const [i, part] of parts.entries()) {
    if (i > 0) out.push(","); // a separator (dropped later either way)
    splitClitics(part, out);
  }
  out.push(...tail);
}

function splitClitics(word: string, out: string[]): void {
  if (word === "") return;
  // A final period ends the word unless the word is a number or letters with inner periods.
  let final = "";
  if (word.endsWith(".") && !/^(\p{L}\.)+$/u.test(word) && word !== "." && word !== "...") {
    const stripped = word.replace(/\.+$/, "");
    final = word.slice(stripped.length);
    word = stripped;
  }
  if (word === "") {
    out.push(final);
    return;
  }
  const lower = word;
  if (/^(can|won)'t$/.test(lower)) out.push(lower.slice(0, 2), "n't");
  else {
    const clitic = CLITICS.find((c) => lower.endsWith(c) && lower.length > c.length);
    if (clitic !== undefined) out.push(lower.slice(0, -clitic.length), clitic);
    else if (/\p{L}s'$/u.test(lower)) out.push(lower.slice(0, -1), "'");
    else if (lower.startsWith("'") && lower.length > 1 && !CLITICS.includes(lower))
      out.push("'", lower.slice(1));
    else out.push(lower);
  }
  if (final !== "") out.push(final);
}

/** Tokens of a caption as pycocoevalcap scores them (see the rules above). */
export function metricTokens(caption: string): string[] {
  const text = caption
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/[–—]/g, " -- ");
  const tokens: string[] = [];
  for (const word of text.split(/\s+/)) if (word !== "") splitWord(word, tokens);
  return tokens.filter((t) => t !== "" && !DROPPED.has(t));
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
