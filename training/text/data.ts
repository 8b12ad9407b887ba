// Reading and checking the labelled JSON Lines files the text recipe trains on.
import { readFileSync, existsSync } from "node:fs";
import { parseLabelledTexts, type LabelledText } from "@beem-ts/text";

export { seededRandom } from "@beem-ts/core";

export type { LabelledText };

/** Reads `{"text", "label"}` lines; any problem names the file and line. */
export function readLabelledJsonl(path: string, numLabels: number): LabelledText[] {
  if (!existsSync(path)) throw new Error(`${path}: file not found`);
  return parseLabelledTexts(readFileSync(path, "utf8"), numLabels, path);
}

/** BERT's basic pre-tokenisation (lower case, accents stripped, split on space and punctuation). */
export function basicTokens(text: string): string[] {
  const normalized = text
    .toLowerCase()
    .normalize("NFD")
    .replace(/\p{Mn}/gu, "");
  return normalized
    .split(/\s+/u)
    .flatMap((word) => word.split(/([!-/:-@[-`{-~]|\p{P})/u))
    .filter((piece) => piece !== "");
}
