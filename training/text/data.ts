// Reading and checking the labelled JSON Lines files the text recipe trains on.
import { readFileSync, existsSync } from "node:fs";

export interface LabelledText {
  readonly id: string;
  readonly text: string;
  readonly label: number;
}

/** Reads `{"text", "label"}` lines; any problem names the file and line. */
export function readLabelledJsonl(path: string, numLabels: number): LabelledText[] {
  if (!existsSync(path)) throw new Error(`${path}: file not found`);
  const rows: LabelledText[] = [];
  const lines = readFileSync(path, "utf8").split("\n");
  lines.forEach((line, index) => {
    const where = `${path}:${index + 1}`;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new Error(`${where}: not valid JSON (${(cause as Error).message})`);
    }
    const record = value as { id?: unknown; text?: unknown; label?: unknown };
    if (typeof record.text !== "string" || record.text.trim() === "") {
      throw new Error(`${where}: field "text" must be a non-empty string`);
    }
    if (
      typeof record.label !== "number" ||
      !Number.isInteger(record.label) ||
      record.label < 0 ||
      record.label >= numLabels
    ) {
      throw new Error(
        `${where}: field "label" must be an integer in [0, ${numLabels - 1}] but is ${JSON.stringify(record.label)}`,
      );
    }
    rows.push({
      id: typeof record.id === "string" ? record.id : String(index),
      text: record.text.trim(),
      label: record.label,
    });
  });
  if (rows.length === 0) throw new Error(`${path}: no rows`);
  return rows;
}

/** Mulberry32: a small seeded generator, so splits are the same on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
