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
