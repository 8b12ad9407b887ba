// Labelled JSON Lines files ({"text": "...", "label": 0}), checked line by line.
import { readFile } from "node:fs/promises";
import { BeemError } from "@beem-ts/core";

export interface LabelledText {
  readonly id: string;
  readonly text: string;
  readonly label: number;
}

/** Reads `{"text", "label"}` lines (label an integer in [0, numLabels)); errors name file and line. */
export async function readLabelledTexts(path: string, numLabels: number): Promise<LabelledText[]> {
  let content: string;
  try {
    content = await readFile(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new BeemError(
      "FILE_NOT_FOUND",
      `${path}: ${code === "ENOENT" ? "file not found" : `cannot read the file (${code})`}`,
      { cause },
    );
  }
  return parseLabelledTexts(content, numLabels, path);
}

export function parseLabelledTexts(
  content: string,
  numLabels: number,
  source: string,
): LabelledText[] {
  const rows: LabelledText[] = [];
  content.split("\n").forEach((line, index) => {
    const where = `${source}:${index + 1}`;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new BeemError(
        "INVALID_DATA",
        `${where}: not valid JSON (${(cause as Error).message})`,
        { cause },
      );
    }
    const record = value as { id?: unknown; text?: unknown; label?: unknown };
    if (typeof record.text !== "string" || record.text.trim() === "") {
      throw new BeemError("INVALID_DATA", `${where}: field "text" must be a non-empty string`);
    }
    const label = record.label;
    if (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label >= numLabels) {
      throw new BeemError(
        "INVALID_DATA",
        `${where}: field "label" must be an integer in [0, ${numLabels - 1}] but is ${JSON.stringify(label)}`,
      );
    }
    rows.push({
      id: typeof record.id === "string" ? record.id : String(index + 1),
      text: record.text.trim(),
      label,
    });
  });
  if (rows.length === 0) throw new BeemError("INVALID_DATA", `${source}: no rows`);
  return rows;
}
