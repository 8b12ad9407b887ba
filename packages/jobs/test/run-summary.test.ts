// What a caption run into a results file tells its caller, and stopping it on a signal.
import { describe, expect, it } from "vitest";
import { countCaptioned, describeResultsRun, stopOnSignals } from "../src/index.js";

describe("describeResultsRun", () => {
  const run = { done: 7, failed: ["b.png", "c.png"], stopped: false };

  it("counts the captioned and failed images into the file, and those already there", () => {
    expect(countCaptioned(run)).toBe("5 images captioned, 2 failed");
    expect(countCaptioned({ ...run, failed: [] })).toBe("7 images captioned");
    expect(describeResultsRun(run, { out: "r.jsonl", total: 7 })).toEqual([
      "5 images captioned, 2 failed into r.jsonl",
    ]);
    expect(describeResultsRun(run, { out: "r.jsonl", total: 7, skipped: 3 })).toEqual([
      "5 images captioned, 2 failed into r.jsonl (3 already there)",
    ]);
  });

  it("names the first five lines for images no longer there", () => {
    const gone = ["1", "2", "3", "4", "5", "6"].map((n) => `${n}.png`);
    const [, line] = describeResultsRun(run, { out: "r.jsonl", total: 7, gone });
    expect(line).toBe(
      "r.jsonl has 6 lines for images no longer there (kept): 1.png, 2.png, 3.png, 4.png, 5.png, ...",
    );
    const [, two] = describeResultsRun(run, { out: "r.jsonl", total: 7, gone: gone.slice(0, 2) });
    expect(two).toBe("r.jsonl has 2 lines for images no longer there (kept): 1.png, 2.png");
  });

  it("says how far a stopped run got, in one line", () => {
    const stopped = { done: 4, failed: [], stopped: true };
    const context = { out: "r.jsonl", total: 10, skipped: 2, signal: "SIGTERM", gone: ["x"] };
    expect(describeResultsRun(stopped, context)).toEqual([
      "stopped by SIGTERM after 4 of 10 images (4 images captioned) (2 were already there); " +
        "r.jsonl holds every finished one.",
    ]);
  });
});

describe("stopOnSignals", () => {
  const received = async (stop: { shouldStop: () => boolean }) => {
    for (let i = 0; i < 200 && !stop.shouldStop(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it("records the first signal, calls onRepeat on the next, and lets go when disposed", async () => {
    const repeats: string[] = [];
    const before = process.listenerCount("SIGUSR2");
    const stop = stopOnSignals(["SIGUSR2"], (signal) => repeats.push(signal));
    expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
    expect(stop.shouldStop()).toBe(false);
    expect(stop.signal).toBeUndefined();
    process.kill(process.pid, "SIGUSR2");
    await received(stop);
    expect(stop.signal).toBe("SIGUSR2");
    expect(repeats).toEqual([]);
    process.emit("SIGUSR2", "SIGUSR2");
    expect(repeats).toEqual(["SIGUSR2"]);
    stop.dispose();
    expect(process.listenerCount("SIGUSR2")).toBe(before);
  });

  it("with no signals it installs nothing and never stops", () => {
    const stop = stopOnSignals([], () => {});
    expect(stop.shouldStop()).toBe(false);
    stop.dispose();
  });
});
