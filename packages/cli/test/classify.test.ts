import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { beem, scratchDir } from "./run-beem.js";

const MODEL = resolve(import.meta.dirname, "../../../models/sst2-beem/manifest.json");
const DEV = resolve(import.meta.dirname, "../../../../shared/data/text/sst2/dev.jsonl");
const present = existsSync(MODEL);
// SST-2 dev is data outside the repository (../shared); the tests that read it say when it is absent.
const devPresent = existsSync(DEV);
if (!devPresent) console.warn(`SKIPPED beem classify-eval / classify-log tests: no ${DEV}`);
if (!present) console.warn("SKIPPED beem classify tests: no bundled text model");

describe.runIf(present)("beem classify / classify-eval with the bundled model", () => {
  const dir = scratchDir();
  beforeAll(() => {
    if (devPresent)
      writeFileSync(
        join(dir, "dev40.jsonl"),
        readFileSync(DEV, "utf8").split("\n").slice(0, 40).join("\n"),
      );
  });

  it("classifies texts and says where each stopped", async () => {
    const r = await beem(
      ["classify", "a gorgeous, witty, seductive movie.", "the worst film of the year", "--json"],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.map((x: { label: string }) => x.label)).toEqual(["positive", "negative"]);
    for (const x of out) expect(x.exitLayer).toBeGreaterThanOrEqual(1);
    const full = JSON.parse(
      (await beem(["classify", "mostly dull", "--full", "--json"], dir)).stdout,
    );
    expect(full[0].exitLayer).toBe(6);
  });

  it.runIf(devPresent)("reports accuracy and measured speed-up on labelled data", async () => {
    const r = await beem(
      [
        "classify-eval",
        "--data",
        "dev40.jsonl",
        "--batch",
        "8",
        "--repeats",
        "1",
        "--json",
        "--rule",
        "maxprob",
        "--lambda",
        "0.05",
      ],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    for (const key of [
      "accuracy",
      "fullAccuracy",
      "meanExitLayer",
      "countedSpeedup",
      "measuredSpeedup",
      "layerByLayerSpeedup",
      "fusedOverLayerByLayer",
      "throughputSpeedup",
      "layerByLayerThroughputSpeedup",
    ]) {
      expect(report[key] > 0 && Number.isFinite(report[key]), key).toBe(true);
    }
    // The figures hang together: counted from the exits, accuracy from the same results, and
    // with one repeat each ratio of times is exactly the quotient of the other two.
    expect(report.exitCounts.reduce((a: number, b: number) => a + b, 0)).toBe(40);
    const meanExit =
      report.exitCounts.reduce((s: number, n: number, i: number) => s + n * (i + 1), 0) / 40;
    expect(report.meanExitLayer).toBeCloseTo(meanExit, 12);
    expect(report.countedSpeedup).toBeCloseTo(6 / meanExit, 12);
    expect(report.fusedOverLayerByLayer).toBeCloseTo(
      report.layerByLayerSpeedup / report.measuredSpeedup,
      9,
    );
    expect(report.batchedAccuracy).toBe(report.accuracy);
    expect(report.accuracy * 40).toBeCloseTo(Math.round(report.accuracy * 40), 9);
    expect(report.fullDepth).toBe("fused");
    expect(report.fullAgreesWithLayerByLayer).toBe(true);
    expect(report.rule).toBe("maxprob");
    expect(report.samples).toBe(40);
  });

  it.runIf(devPresent)("logs every exit in the beem log format", async () => {
    const r = await beem(["classify-log", "--data", "dev40.jsonl", "--out", "exits.jsonl"], dir);
    expect(r.status, r.stderr).toBe(0);
    const lines = readFileSync(join(dir, "exits.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(40);
    expect(JSON.parse(lines[0]!).exits).toHaveLength(6);
  });

  it.each([
    [["classify"], 2, /Give at least one text/],
    [["classify", "ok", "--lambda", "-1"], 2, /Expected --lambda to be a finite number >= 0/],
    [["classify", "ok", "--rule", "nope"], 2, /Expected --rule to be one of/],
    [["classify-eval", "--data", "missing.jsonl"], 1, /missing\.jsonl: file not found/],
    [["classify", "ok", "--model", "/nonexistent"], 1, /manifest\.json: cannot read the manifest/],
  ])("beem %j exits %i with a clear message", async (args, status, message) => {
    const r = await beem(args, dir);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(message);
  });
});
