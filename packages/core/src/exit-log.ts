// The JSON Lines exit log: one line per input, {"label": 1, "exits": [[p...], ...]} with
// exit 1 first, or "logits" instead of "exits" (soft-maxed here), or, for large vocabularies,
// "summaries": [[prediction, confidence, entropy], ...] (what the rules read of each exit).
// An optional "group": "<id>" marks lines that are not independent (the tokens of one image).
import { BeemError, describe } from "./errors.js";
import { logitsProblem, softmax, type ExitSummary } from "./exit-output.js";
import { ExitTableBuilder, type ExitSample, type ExitTable } from "./exit-table.js";

/** A logged input given by its exits' summaries rather than full probability vectors. */
export interface SummarizedSample {
  readonly label: number;
  readonly summaries: readonly ExitSummary[];
  /** As in `ExitSample`: lines of one group (one image's tokens) are not independent. */
  readonly group?: string;
}

function parseSummaries(value: unknown, where: string): ExitSummary[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BeemError(
      "INVALID_EXIT_LOG",
      `${where}: field "summaries" must be a non-empty array but is ${describe(value)}`,
    );
  }
  return value.map((s: unknown, i) => {
    const ok =
      Array.isArray(s) &&
      s.length === 3 &&
      Number.isInteger(s[0]) &&
      s[0] >= 0 &&
      typeof s[1] === "number" &&
      s[1] >= 0 &&
      s[1] <= 1 &&
      typeof s[2] === "number" &&
      Number.isFinite(s[2]) &&
      s[2] >= 0;
    if (!ok) {
      throw new BeemError(
        "INVALID_EXIT_LOG",
        `${where}: field "summaries[${i}]" must be [prediction, confidence in [0, 1], entropy >= 0]`,
      );
    }
    const [prediction, confidence, entropy] = s as [number, number, number];
    return { prediction, confidence, entropy };
  });
}

/** Adds a parsed line to a builder, whichever form it took. */
export function addParsedSample(
  builder: ExitTableBuilder,
  sample: ExitSample | SummarizedSample,
  where: string,
): void {
  if ("summaries" in sample)
    builder.addSummaries(sample.label, sample.summaries, where, undefined, sample.group);
  else builder.add(sample, where);
}

/** Parses one line of an exit log; returns undefined for a blank line. `where` prefixes errors. */
export function parseExitLogLine(
  line: string,
  where: string,
): ExitSample | SummarizedSample | undefined {
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
  const group = record.group;
  if (group !== undefined && (typeof group !== "string" || group === "")) {
    throw new BeemError(
      "INVALID_EXIT_LOG",
      `${where}: field "group" must be a non-empty string but is ${describe(group)}`,
    );
  }
  const grouped = group === undefined ? {} : { group };
  const hasExits = record.exits !== undefined;
  const hasLogits = record.logits !== undefined;
  const hasSummaries = record.summaries !== undefined;
  if (Number(hasExits) + Number(hasLogits) + Number(hasSummaries) !== 1) {
    throw new BeemError(
      "INVALID_EXIT_LOG",
      `${where}: give exactly one of the fields "exits", "logits" and "summaries"`,
    );
  }
  if (hasSummaries)
    return { label, summaries: parseSummaries(record.summaries, where), ...grouped };
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
  if (hasExits) return { label, exits: rows, ...grouped };
  return {
    label,
    ...grouped,
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
    if (sample !== undefined) addParsedSample(builder, sample, where);
  });
  if (builder.size === 0)
    throw new BeemError("INVALID_EXIT_LOG", `${source}: the exit log has no samples`);
  return builder.build();
}

/** One exit-log line of summaries (confidence and entropy rounded to `digits` digits). */
export function formatSummaryLogLine(
  sample: SummarizedSample,
  options: { digits?: number } = {},
): string {
  const digits = options.digits ?? 6;
  const summaries = sample.summaries.map((s) => [
    s.prediction,
    Number(s.confidence.toPrecision(digits)),
    Number(s.entropy.toPrecision(digits)),
  ]);
  return JSON.stringify({
    label: sample.label,
    summaries,
    ...(sample.group !== undefined && { group: sample.group }),
  });
}

/** One exit-log line for a sample (probabilities rounded to `digits` significant digits). */
export function formatExitLogLine(sample: ExitSample, options: { digits?: number } = {}): string {
  const digits = options.digits ?? 6;
  const exits = sample.exits.map((p) => Array.from(p, (x) => Number(x.toPrecision(digits))));
  return JSON.stringify({
    label: sample.label,
    exits,
    ...(sample.group !== undefined && { group: sample.group }),
  });
}
