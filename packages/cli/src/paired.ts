// The one ratio every benchmark reports: passes of two ways of doing the same work run side by
// side, and the speed-up is the median over passes of the ratio of their times.
import { median } from "@beem-ts/core";

/** Median over repeats of slow[r] / fast[r]: how much faster `fast` is than `slow`. */
export function pairedSpeedup(fast: readonly number[], slow: readonly number[]): number {
  if (fast.length === 0 || fast.length !== slow.length)
    throw new RangeError(`Expected paired times but received ${fast.length} and ${slow.length}`);
  return median(slow.map((t, r) => t / fast[r]!));
}
