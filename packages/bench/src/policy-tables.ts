// Exit-log measurements in words: a policy replayed on a labelled log (core's evaluatePolicy) and
// every rule at every lambda (core's sweep), as tables.
import type { PolicyEvaluation, SweepRow as PolicySweepRow } from "@beem-ts/core";
import { csv, textTable, type Cell } from "./tables.js";

/** The columns of a policy sweep's table, each with its cell. */
export const POLICY_SWEEP_COLUMNS: readonly (readonly [string, (row: PolicySweepRow) => Cell])[] = [
  ["rule", (r) => r.rule],
  ["lambda", (r) => r.lambda],
  ["accuracy", (r) => r.accuracy],
  ["final accuracy", (r) => r.finalAccuracy],
  ["mean exit", (r) => r.meanExitLayer],
  ["counted speed-up", (r) => r.countedSpeedup],
  ["cost speed-up", (r) => r.costSpeedup],
  ["cal accuracy", (r) => r.calibrationAccuracy],
  ["pareto", (r) => (r.pareto ? "*" : "")],
];

/** A policy sweep's rows as an aligned text table, or as CSV. */
export function policySweepTable(rows: readonly PolicySweepRow[], format: "text" | "csv"): string {
  const header = POLICY_SWEEP_COLUMNS.map(([name]) => name);
  const cells = rows.map((row) => POLICY_SWEEP_COLUMNS.map(([, cell]) => cell(row)));
  return format === "csv" ? csv(header, cells) : textTable(header, cells);
}

/** A replayed policy's figures: a table, the exit counts, each exit's accuracy, the risk bound. */
export function policyEvaluationSummary({
  report,
  exitAccuracies,
  risk,
}: PolicyEvaluation): string {
  return (
    textTable(
      ["samples", "accuracy", "final accuracy", "mean exit", "counted speed-up", "cost speed-up"],
      [
        [
          report.samples,
          report.accuracy,
          report.finalAccuracy,
          report.meanExitLayer,
          report.countedSpeedup,
          report.costSpeedup,
        ],
      ],
    ) +
    `exits: ${report.exitCounts.join(" ")}\n` +
    `each exit's accuracy: ${exitAccuracies.map((a) => a.toFixed(4)).join(" ")}\n` +
    (risk
      ? `${risk.loss} loss ${risk.realisedLoss.toFixed(4)} (bound ${risk.maxLoss} with probability ${1 - risk.delta})\n`
      : "")
  );
}
