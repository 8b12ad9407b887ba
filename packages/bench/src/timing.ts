// The one way every evaluation command times: several ways of doing the same work run side by
// side, and each speed-up is the median over passes of the ratio of two ways' times.
import { median } from "@beem-ts/core";

/** Median over repeats of slow[r] / fast[r]: how much faster `fast` is than `slow`. */
export function pairedSpeedup(fast: readonly number[], slow: readonly number[]): number {
  if (fast.length === 0 || fast.length !== slow.length)
    throw new RangeError(`Expected paired times but received ${fast.length} and ${slow.length}`);
  return median(slow.map((t, r) => t / fast[r]!));
}

/** One way of doing the work to an item (an image, a set of texts). */
export type Runner<T> = (item: T, index: number) => Promise<unknown>;

export interface SideBySideOptions {
  /** Passes over all items. */
  readonly repeats: number;
  /**
   * Items per block: each block goes through every way in turn before the next block. 1 pairs
   * item by item; larger blocks keep another runtime's thread pool (transformers.js spins its
   * threads after each run) from slowing the next item of the other way. Default 1.
   */
  readonly block?: number;
  /** Run every way once on the first item before timing (a graph's first run is slower). */
  readonly warmUp?: boolean;
  readonly onRepeat?: () => void;
}

/**
 * Times several ways of doing the same work side by side: the items go in blocks, each block
 * through every way one right after the other, the order rotating block by block and repeat by
 * repeat, so that the machine's load, which drifts on a shared machine, weighs on all ways alike.
 * Returns, per way, the total time of each repeat over all items.
 */
export async function timeSideBySide<T, K extends string>(
  items: readonly T[],
  ways: Readonly<Record<K, Runner<T>>>,
  options: SideBySideOptions,
): Promise<Record<K, number[]>> {
  const block = options.block ?? 1;
  const names = Object.keys(ways) as K[];
  if (options.warmUp === true) for (const n of names) await ways[n](items[0]!, 0);
  const ms = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < options.repeats; r++) {
    for (const n of names) ms[n].push(0);
    for (let start = 0, k = 0; start < items.length; start += block, k++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(j + k + r) % names.length]!;
        const started = performance.now();
        for (let i = start; i < Math.min(items.length, start + block); i++)
          await ways[name](items[i]!, i);
        ms[name][r]! += performance.now() - started;
      }
    }
    options.onRepeat?.();
  }
  return ms;
}
