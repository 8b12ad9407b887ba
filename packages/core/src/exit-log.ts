// The JSON Lines exit log: one line per input, {"label": 1, "exits": [[p...], ...]} with
// exit 1 first, or "logits" instead of "exits" (soft-maxed here).
import { BeemError, describe } from "./errors.js";
import { logitsProblem, softmax } from "./exit-output.js";
import { ExitTableBuilder, type ExitSample, type ExitTable } from "./exit-table.js";

/** Parses one line of an exit log; returns undefined for a blank line. `where` prefixes errors. */
export function parseExitLogLine(line: string, where: string): ExitSample | undefined {
  if (line.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new BeemError(
      "INVALID_EXIT_LOG",
      `${where}: not valid JSON (${(cause as Error).message})`,
      { cause },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BeemError("INVALID_EXIT_LOG", `${where}: each line must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  const label = record.label;
  if (typeof label !== "number" || !Number.isInteger(label) || label < 0) {
    throw new BeemError(
      "INVALID_EXIT_LOG",
      `${where}: field "label" must be an integer >= 0 but is ${describe(label)}`,
    );
  }
  const hasExits = record.exits !== undefined;
  const hasLogits = record.logits !== undefined;
  if (hasExits === hasLogits) {
    throw new BeemError(
      "INVALID_EXIT_LOG",
      `${where}: give exactly one of the fields "exits" and "logits"`,
    );
  }
  const field = hasExits ? "exits" : "logits";
  const vectors = record[field];
  if (!Array.isArray(vectors) || vectors.length === 0) {
    throw new BeemError(
      "INVALID_EXIT_LOG",
      `${where}: field "${field}" must be a non-empty array of vectors but is ${describe(vectors)}`,
    );
  }
  vectors.forEach((v, i) => {
    if (!Array.isArray(v)) {
      throw new BeemError(
        "INVALID_EXIT_LOG",
        `${where}: field "${field}[${i}]" must be an array but is ${describe(v)}`,
      );
    }
  });
  const rows = vectors as number[][];
  if (hasExits) return { label, exits: rows };
  return {
    label,
    exits: rows.map((v, i) => {
      const problem = logitsProblem(v, rows[0]!.length);
      if (problem !== undefined) {
        throw new BeemError("INVALID_EXIT_LOG", `${where}: field "logits[${i}]" ${problem}`);
      }
      return softmax(v);
    }),
  };
}

/** Reads a whole exit log from text into a table; errors name `source` and the line. */
export function parseExitLog(text: string, options: { source?: string } = {}): ExitTable {
  const source = options.source ?? "exit log";
  const builder = new ExitTableBuilder();
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    const where = `${source}:${index + 1}`;
    const sample = parseExitLogLine(line, where);
    if (sample !== undefined) builder.add(sample, where);
  });
  if (builder.size === 0)
    throw new BeemError("INVALID_EXIT_LOG", `${source}: the exit log has no samples`);
  return builder.build();
}

/** One exit-log line for a sample (probabilities rounded to `digits` significant digits). */
export function formatExitLogLine(sample: ExitSample, options: { digits?: number } = {}): string {
  const digits = options.digits ?? 6;
  const exits = sample.exits.map((p) => Array.from(p, (x) => Number(x.toPrecision(digits))));
  return JSON.stringify({ label: sample.label, exits });
}
