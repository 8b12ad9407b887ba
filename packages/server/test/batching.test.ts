// Dynamic batching: requests that arrive while a batch runs go together in the next one.
import { describe, expect, it } from "vitest";
import { Batcher } from "../src/batching.js";

/** A runner that records each batch and finishes when told to. */
function gatedRunner() {
  const batches: { items: number[]; key: string }[] = [];
  const gates: (() => void)[] = [];
  const run = (items: number[], key: string) =>
    new Promise<number[]>((resolve) => {
      batches.push({ items, key });
      gates.push(() => resolve(items.map((x) => x * 10)));
    });
  const release = async () => {
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 5));
  };
  return { batches, run, release };
}

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

describe("Batcher", () => {
  it("sends the requests that arrived while a batch ran as the next batch, in order", async () => {
    const { batches, run, release } = gatedRunner();
    const b = new Batcher(run, { windowMs: 1, maxBatch: 8 });
    const first = b.add([1], "k");
    await tick();
    expect(batches.map((x) => x.items)).toEqual([[1]]);
    const later = [b.add([2], "k"), b.add([3, 4], "k"), b.add([5], "k")];
    await tick();
    expect(batches).toHaveLength(1); // waiting for the running batch, not flushed on a timer
    expect(b.waiting).toBe(3);
    await release();
    expect(batches.map((x) => x.items)).toEqual([[1], [2, 3, 4, 5]]);
    await release();
    expect(await first).toEqual([10]);
    expect(await Promise.all(later)).toEqual([[20], [30, 40], [50]]);
    expect(b.waiting).toBe(0);
  });

  it("starts a full batch at once, keeps batches to maxBatch items and options apart", async () => {
    const { batches, run, release } = gatedRunner();
    const b = new Batcher(run, { windowMs: 10_000, maxBatch: 2 });
    const done = [b.add([1], "a"), b.add([2], "a")];
    await tick();
    expect(batches.map((x) => x.items)).toEqual([[1, 2]]); // full: no 10 s window
    done.push(b.add([3], "b"), b.add([4], "a"), b.add([5], "a"), b.add([6], "a"));
    await release();
    await release();
    await release();
    expect(batches.map((x) => [x.key, x.items])).toEqual([
      ["a", [1, 2]],
      ["b", [3]],
      ["a", [4, 5]],
      ["a", [6]],
    ]);
    await release();
    expect(await Promise.all(done)).toEqual([[10], [20], [30], [40], [50], [60]]);
  });

  it("takes turns between options, so that one kind of request cannot starve another", async () => {
    const { batches, run, release } = gatedRunner();
    const b = new Batcher(run, { windowMs: 1, maxBatch: 1 });
    const done = [b.add([1], "a")];
    await tick();
    done.push(b.add([2], "a"), b.add([3], "a"), b.add([4], "b"));
    for (let i = 0; i < 4; i++) await release();
    expect(batches.map((x) => `${x.key}${x.items[0]}`)).toEqual(["a1", "a2", "b4", "a3"]);
    expect(await Promise.all(done)).toEqual([[10], [20], [30], [40]]);
  });

  it("refuses with QUEUE_FULL and Retry-After when too many requests wait", async () => {
    const { run, release } = gatedRunner();
    const b = new Batcher(run, { windowMs: 1, maxWaiting: 1, retryAfterSeconds: 3 });
    const running = b.add([1], "k");
    await tick();
    const waiting = b.add([2], "k");
    await expect(b.add([3], "k")).rejects.toMatchObject({
      code: "QUEUE_FULL",
      headers: { "Retry-After": "3" },
    });
    await release();
    await release();
    expect(await Promise.all([running, waiting])).toEqual([[10], [20]]);
  });

  it("rejects only the failed batch's requests and goes on", async () => {
    let calls = 0;
    const b = new Batcher<number, string, number>(
      async (items) => {
        calls++;
        await tick(5);
        if (calls === 1) throw new Error("model failed");
        return items;
      },
      { windowMs: 1 },
    );
    const failed = b.add([1], "k");
    await tick(2);
    const next = b.add([2], "k");
    await expect(failed).rejects.toThrow("model failed");
    expect(await next).toEqual([2]);
  });
});
