// A lambda sweep: calibrate every rule at every lambda, evaluate on held-out data.
import { checkFiniteNumber, checkOneOf } from "./check.js";
import { createCalibrator, type CalibratorOptions } from "./calibrate.js";
import { evaluate, type EvaluationReport } from "./evaluate.js";
import type { ExitTable } from "./exit-table.js";
import type { Policy } from "./policy.js";
import { CALIBRATION_RULES, type CalibrationRule } from "./rules.js";

export interface SweepRow extends EvaluationReport {
  readonly rule: CalibrationRule;
  readonly lambda: number;
  /** Accuracy and cost fraction on the calibration set. */
  readonly calibrationAccuracy: number;
  readonly calibrationCost: number;
  /** Whether no other row is at least as accurate and as fast, and better in one. */
  readonly pareto: boolean;
  readonly policy: Policy;
}

export interface SweepOptions extends Omit<CalibratorOptions, "rule"> {
  readonly rules: readonly CalibrationRule[];
  readonly lambdas: readonly number[];
  /** Called after each (rule, lambda) with the count done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SweepResult {
  readonly rows: readonly SweepRow[];
}

export function sweep(calibration: ExitTable, test: ExitTable, options: SweepOptions): SweepResult {
  options.rules.forEach((r, i) => checkOneOf(`rules[${i}]`, r, CALIBRATION_RULES));
  options.lambdas.forEach((l, i) => checkFiniteNumber(`lambdas[${i}]`, l, 0));
  const total = options.rules.length * options.lambdas.length;
  const rows: Omit<SweepRow, "pareto">[] = [];
  const { rules, lambdas, onProgress, ...calibratorOptions } = options;
  for (const rule of rules) {
    const calibrator = createCalibrator(calibration, { ...calibratorOptions, rule });
    for (const lambda of lambdas) {
      const policy = calibrator.fit(lambda);
      rows.push({
        rule,
        lambda,
        ...evaluate(policy, test),
        calibrationAccuracy: policy.calibration!.accuracy,
        calibrationCost: policy.calibration!.cost,
        policy,
      });
      onProgress?.(rows.length, total);
    }
  }
  return { rows: markParetoFront(rows) };
}

/** Marks rows on the accuracy / cost-weighted speed-up front. */
export function markParetoFront<T extends { accuracy: number; costSpeedup: number }>(
  rows: readonly T[],
): (T & { pareto: boolean })[] {
  return rows.map((row) => ({
    ...row,
    pareto: !rows.some(
      (other) =>
        other.accuracy >= row.accuracy &&
        other.costSpeedup >= row.costSpeedup &&
        (other.accuracy > row.accuracy || other.costSpeedup > row.costSpeedup),
    ),
  }));
}
