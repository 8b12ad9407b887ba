// beem bench-scale on its small preset: a random Hugging Face checkpoint built and converted in
// a temporary cache, then timed (the figures' relations are checked, not their values).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { beem, scratchDir } from "./run-beem.js";

const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch, onnx, PIL"]).status === 0;
if (!hasTorch) {
  const message = `${PYTHON} has no torch, onnx or PIL`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`SKIPPED beem bench-scale tests: ${message}`);
}

/**
 * The layer sessions against the same graphs composed into one: the same computation, so the
 * same outputs; every figure from the same passes.
 */
function expectSessions(
  sessions: Record<string, number>,
  middle: { layer: number; countedSpeedup: number },
) {
  expect(sessions.layer).toBe(middle.layer);
  // Counted for one input (a text of the mean length) rather than all of them.
  expect(sessions.countedSpeedup).toBeCloseTo(middle.countedSpeedup, 1);
  expect(sessions.maxAbsDifference).toBeLessThan(1e-4);
  for (const key of ["splitMs", "composedMs", "splitSpeedup", "composedSpeedup"])
    expect(Number.isFinite(sessions[key]) && sessions[key]! > 0, key).toBe(true);
  expect(Number.isFinite(sessions.perSessionMs)).toBe(true);
  // Per session: the difference of the two ways over the layers, within the spread of passes.
  expect(Math.abs(sessions.perSessionMs!)).toBeLessThan(sessions.splitMs! / sessions.layer!);
}

describe.runIf(hasTorch)("beem bench-scale --preset small", () => {
  const dir = scratchDir();
  const cache = mkdtempSync(join(tmpdir(), "beem-bench-cache-"));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it("builds, converts and times a random checkpoint, every figure paired with full depth", async () => {
    const started = Date.now();
    const r = await beem(["bench-scale", "--preset", "small", "--cache", cache, "--json"], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ preset: "small", layers: 4, images: 4 });
    expect(report.exits.map((e: { layer: number }) => e.layer)).toEqual([1, 2, 3]);
    // Counted: full depth is 4 layers and the full head; an exit at k runs k layers with their
    // shortlist heads. Deeper exits count less.
    const counted = report.exits.map((e: { countedSpeedup: number }) => e.countedSpeedup);
    expect(counted[0]).toBeCloseTo(counted[1] * 2, 9);
    expect(counted[0]).toBeCloseTo(counted[2] * 3, 9);
    for (const e of report.exits) {
      expect(e.tokens).toBe(report.tokensPerImage * 4);
      for (const key of ["decoderMs", "decoderSpeedup", "endToEndSpeedup", "graphsSpeedup"])
        expect(Number.isFinite(e[key]) && e[key] > 0, key).toBe(true);
    }
    expect(report.layerMs).toBeCloseTo(report.stepMs - report.shortlistHeadMs, 9);
    expect(report.shortlistHeadShare).toBeCloseTo(report.shortlistHeadMs / report.layerMs, 9);
    expect(report.batch).toMatchObject({ size: 4, exitLayer: 2 });
    expect(report.peakRssMb).toBeGreaterThan(50);
    expectSessions(report.sessions, report.exits[1]);
    // The second run finds the bundle in the cache.
    const again = await beem(
      ["bench-scale", "--preset", "small", "--cache", cache, "--repeats", "1", "--images", "2"],
      dir,
    );
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/converting/);
    expect(again.stdout).toMatch(/shortlist head .* of a layer/);
  });

  it("times the small text preset per text and in batches, beside counted multiply-adds", async () => {
    const started = Date.now();
    const r = await beem(
      ["bench-scale", "--preset", "small-text", "--cache", cache, "--json"],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ preset: "small-text", layers: 4, texts: 16 });
    expect(report.exits.map((e: { layer: number }) => e.layer)).toEqual([1, 2, 3]);
    // Counted: an exit at k runs k layers and k exit heads; full depth 4 layers and one head.
    const counted = report.exits.map((e: { countedSpeedup: number }) => e.countedSpeedup);
    expect(counted[0]).toBeCloseTo(counted[1] * 2, 9);
    expect(counted[0]).toBeCloseTo(counted[2] * 3, 9);
    expect(counted[0]).toBeLessThan(4);
    expect(counted[0]).toBeGreaterThan(3.5);
    for (const e of report.exits)
      for (const key of ["ms", "speedup", "batchTextsPerSecond", "batchThroughputSpeedup"])
        expect(Number.isFinite(e[key]) && e[key] > 0, key).toBe(true);
    expect(report.batch).toMatchObject({
      size: 8,
      exitLayer: 2,
      countedSpeedup: counted[1],
      throughputSpeedup: report.exits[1].batchThroughputSpeedup,
      earlyTextsPerSecond: report.exits[1].batchTextsPerSecond,
    });
    expect(report.batch.throughputSpeedup).toBeGreaterThan(0);
    expect(report.batch.earlyTextsPerSecond / report.batch.fullTextsPerSecond).toBeGreaterThan(0);
    expectSessions(report.sessions, report.exits[1]);
    expect(report.sessions.tokens).toBe(Math.round(report.tokensPerText));
    expect(r.stdout).not.toMatch(/composing/);
    expect(r.stderr).toMatch(/composing layers 1-2 into one graph/);
  });

  it("composes a bundle's first K layers only for K within its layers", () => {
    const script = join(import.meta.dirname, "../../../training/common/compose_layers.py");
    // A manifest of four layers is all the check reads.
    const bundle = mkdtempSync(join(cache, "four-layers-"));
    writeFileSync(
      join(bundle, "manifest.json"),
      JSON.stringify({ task: "text-classification", graphs: { layers: [{}, {}, {}, {}] } }),
    );
    for (const k of ["0", "5"]) {
      const r = spawnSync(PYTHON, [script, bundle, k], { encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(`error: K is ${k}; the bundle has layers 1 to 4`);
    }
    const r = spawnSync(PYTHON, [script, join(cache, "nothing-here"), "2"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nothing-here\/manifest.json: cannot read the manifest/);
  });

  it.each([
    [["--preset", "small-text", "--images", "4"], /--images is for the other presets/],
    [["--preset", "small", "--texts", "4"], /--texts is for the other presets/],
    [["--preset", "small-text", "--shortlist", "64"], /--shortlist is for the caption presets/],
    [
      ["--preset", "huge"],
      /Expected --preset to be one of "vit-gpt2", "small", "bert-base", "small-text" but received "huge"/,
    ],
    [
      ["--preset", "small", "--exit-layers", "4"],
      /--exit-layers to hold layers from 1 to 3 but received 4/,
    ],
    [
      ["--preset", "small", "--exit-layers", "0,2"],
      /--exit-layers to hold layers from 1 to 3 but received 0/,
    ],
  ])("refuses %j naming the option", async (args, message) => {
    const r = await beem(["bench-scale", ...args, "--cache", cache], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it.runIf(process.getuid?.() !== 0)("refuses a cache folder it cannot write", async () => {
    const locked = join(cache, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const r = await beem(["bench-scale", "--preset", "small", "--cache", join(locked, "x")], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--cache .*: cannot write there/);
  });

  it("refuses a cache path that is a file", async () => {
    const r = await beem(["bench-scale", "--preset", "small", "--cache", "/dev/null/cache"], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--cache \/dev\/null\/cache: cannot write there/);
  });
});
