// One entry to fitting a policy on a labelled log: at a cost parameter lambda (`calibrate`), or
// with a loss bound (`calibrateRisk`) when `maxLoss` is given.
import { calibrate, type CalibrateOptions } from "./calibrate.js";
import type { Policy } from "./policy.js";
import { calibrateRisk, type GroupLoss, type RiskLoss } from "./risk-control.js";
import type { ExitTable } from "./exit-table.js";

export interface FitPolicyOptions extends CalibrateOptions {
  /** Fit with a guarantee instead of at `lambda` (which is then ignored); see `calibrateRisk`. */
  readonly maxLoss?: number;
  /** With `maxLoss`: the probability the bound may fail. Default 0.1. */
  readonly delta?: number;
  /** With `maxLoss`. Default "disagreement". */
  readonly loss?: RiskLoss;
  /** With `maxLoss`, for a grouped log. Default "mean". */
  readonly groupLoss?: GroupLoss;
}

export interface FitPolicyResult {
  readonly policy: Policy;
  /** With `maxLoss`: set when no early-exit policy could be certified (see `calibrateRisk`). */
  readonly warning?: string;
}

/** `calibrateRisk` when `options.maxLoss` is set, else `calibrate`, as `{ policy, warning? }`. */
export function fitPolicy(table: ExitTable, options: FitPolicyOptions): FitPolicyResult {
  const { maxLoss, ...rest } = options;
  if (maxLoss === undefined) return { policy: calibrate(table, rest) };
  return calibrateRisk(table, { ...rest, maxLoss });
}

/**
 * One line on a fitted policy: how it was fitted (`rule` as the caller named it, at its lambda or
 * within its loss bound with the test's figures) and what it does on the calibration samples
 * (accuracy against the final exit's, mean exit layer, counted speed-up), or "full depth".
 */
export function describeFit(policy: Policy, rule: string = policy.rule): string {
  const c = policy.calibration;
  const r = policy.riskControl;
  let how = `${rule} at lambda ${policy.lambda ?? 0}`;
  if (r !== undefined) {
    const tested =
      r.groups === undefined
        ? `${r.calibrationSamples} test lines`
        : `${r.calibrationSamples} test groups (${r.groups.calibrationLines} lines, ${r.groups.loss} loss per group)`;
    how =
      `${rule} with loss (${r.loss}) <= ${r.epsilon} w.p. ${1 - r.delta}: ` +
      `${r.empiricalLoss.toFixed(4)} on ${tested}, p-value ${r.pValue.toPrecision(3)},`;
  }
  if (c === undefined) return `${how} full depth`;
  return (
    `${how} on ${c.samples} samples: accuracy ${c.accuracy.toFixed(4)} ` +
    `(final exit ${c.finalAccuracy.toFixed(4)}), mean exit ${c.meanExitLayer.toFixed(2)} of ` +
    `${policy.numExits}, counted speed-up ${c.countedSpeedup.toFixed(2)}x`
  );
}
