// BEEM's expert weights and the per-exit cost model.
import { checkNumberArray } from "./check.js";
import { invalidArgument } from "./errors.js";

/** Equal layer costs: [1, 1, ..., 1]. */
export function equalCosts(numExits: number): number[] {
  return Array.from({ length: numExits }, () => 1);
}

/**
 * Cost of stopping at each exit as a fraction of running all of them: the running sum of the
 * per-exit costs (layer plus exit head) divided by their total, so the last entry is 1.
 */
export function cumulativeCostFractions(costs: readonly number[]): Float64Array {
  checkNumberArray("costs", costs, { positive: true });
  const out = new Float64Array(costs.length);
  let sum = 0;
  costs.forEach((c, i) => {
    sum += c;
    out[i] = sum;
  });
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** BEEM-C: w_i proportional to the cost of reaching exit i, with w_L = 1 (i / L for equal layers). */
export function costWeights(costs: readonly number[]): number[] {
  return Array.from(cumulativeCostFractions(costs));
}

/** BEEM-A: w_i is the accuracy of exit i on the calibration set. */
export function accuracyWeights(exitAccuracies: readonly number[]): number[] {
  const weights = checkNumberArray("exitAccuracies", exitAccuracies, { min: 0 });
  weights.forEach((w, i) => {
    if (w > 1) invalidArgument(`exitAccuracies[${i}]`, "a number in [0, 1]", w);
  });
  return weights;
}
