// Small statistics for reports and benchmarks.
import { invalidArgument } from "./errors.js";

/** The median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) invalidArgument("values", "a non-empty array", values);
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The mean exit layer of decided inputs (texts, or generated tokens with the end token): the one
 * definition every report uses. 0 for none. `countedSpeedup` is numExits / this.
 */
export function meanExitLayer(exitLayers: Iterable<number>): number {
  let sum = 0;
  let count = 0;
  for (const layer of exitLayers) {
    sum += layer;
    count++;
  }
  return count === 0 ? 0 : sum / count;
}
