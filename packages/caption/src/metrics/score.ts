// Corpus-level caption scores of candidates against references, pycocoevalcap's way.
import { BeemError } from "@beem-ts/core";
import { corpusBleu } from "./bleu.js";
import { ciderDScores } from "./cider.js";
import { corpusRougeL } from "./rouge.js";
import { metricTokens } from "./tokenize.js";

export interface CaptionScores {
  readonly bleu1: number;
  readonly bleu2: number;
  readonly bleu3: number;
  readonly bleu4: number;
  readonly rougeL: number;
  readonly ciderD: number;
}

export interface ScoreInput {
  /** References per image id. */
  readonly refs: Readonly<Record<string, readonly string[]>>;
  /** One candidate caption per image id; every id must have references. */
  readonly cands: Readonly<Record<string, string>>;
}

export function scoreCaptions(input: ScoreInput): CaptionScores {
  const ids = Object.keys(input.cands);
  if (ids.length === 0)
    throw new BeemError("INVALID_ARGUMENT", 'Expected "cands" to hold at least one caption');
  const cands: string[][] = [];
  const refs: string[][][] = [];
  for (const id of ids) {
    const cand = input.cands[id];
    const imageRefs = input.refs[id];
    if (typeof cand !== "string") {
      throw new BeemError("INVALID_ARGUMENT", `Expected cands["${id}"] to be a string`);
    }
    if (
      !Array.isArray(imageRefs) ||
      imageRefs.length === 0 ||
      imageRefs.some((r) => typeof r !== "string")
    ) {
      throw new BeemError(
        "INVALID_ARGUMENT",
        `Expected refs["${id}"] to be a non-empty array of strings`,
      );
    }
    cands.push(metricTokens(cand));
    refs.push(imageRefs.map(metricTokens));
  }
  const [bleu1, bleu2, bleu3, bleu4] = corpusBleu(cands, refs) as [number, number, number, number];
  const cider = ciderDScores(cands, refs);
  return {
    bleu1,
    bleu2,
    bleu3,
    bleu4,
    rougeL: corpusRougeL(cands, refs),
    ciderD: cider.reduce((a, b) => a + b, 0) / cider.length,
  };
}
