import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createCalibrator, foldFixedCost, parseExitLog, serializePolicy } from "@beem-ts/core";
import { describe, expect, it } from "vitest";
import { BundlePolicies, readManifest, type BundleManifest } from "../src/index.js";
import { bundleDir, manifest } from "./fixture.js";

async function load(dir: string): Promise<BundlePolicies> {
  const { manifest: m } = await readManifest<BundleManifest>(dir, "text-classification");
  return BundlePolicies.load(dir, m);
}

describe("BundlePolicies", () => {
  it("defaults to full depth when the bundle names no policy", async () => {
    const policies = await load(bundleDir());
    expect(policies.defaultPolicy).toEqual({ version: 1, rule: "final", numExits: 4 });
    expect(await policies.policyFor()).toEqual(policies.defaultPolicy);
  });

  it("reads the bundle's policy and refuses one for another number of exits", async () => {
    const staticPolicy = { version: 1, rule: "static", numExits: 4, layer: 2 };
    const good = bundleDir({
      "manifest.json": JSON.stringify(manifest({ policy: "policy.json" })),
      "policy.json": JSON.stringify(staticPolicy),
    });
    expect((await load(good)).defaultPolicy).toEqual(staticPolicy);
    const bad = bundleDir({
      "manifest.json": JSON.stringify(manifest({ policy: "policy.json" })),
      "policy.json": JSON.stringify({ ...staticPolicy, numExits: 6 }),
    });
    await expect(load(bad)).rejects.toThrow("The policy is for 6 exits but the model has 4");
  });

  it("fits a rule at a lambda as the core does on the same log, with the fixed cost folded in", async () => {
    const dir = bundleDir();
    const policies = await load(dir);
    const fitted = await policies.policyFor({ rule: "maxprob", lambda: 0.3 });
    const table = parseExitLog(readFileSync(join(dir, "exits.jsonl"), "utf8"));
    const expected = createCalibrator(table, {
      rule: "maxprob",
      costs: foldFixedCost([1, 1, 1, 1], 0.5),
    }).fit(0.3);
    expect(serializePolicy(fitted)).toBe(serializePolicy(expected));
    // lambda alone means BEEM-A
    expect(await policies.policyFor({ lambda: 0.3 })).toMatchObject({
      rule: "beem",
      weighting: "accuracy",
    });
  });

  it("reads the log once and keeps each rule's calibrator", async () => {
    const dir = bundleDir();
    const policies = await load(dir);
    const first = await policies.policyFor({ rule: "entropy", lambda: 0.1 });
    // The log is gone: later fits still work from what was read.
    rmSync(join(dir, "exits.jsonl"));
    expect(await policies.policyFor({ rule: "entropy", lambda: 0.1 })).toEqual(first);
    expect((await policies.policyFor({ rule: "patience", lambda: 0.2 })).rule).toBe("patience");
  });

  it("says which log is missing or malformed", async () => {
    const noLog = bundleDir({
      "manifest.json": JSON.stringify(manifest({ calibrationLog: undefined })),
    });
    await expect((await load(noLog)).policyFor({ lambda: 0.1 })).rejects.toMatchObject({
      code: "INVALID_BUNDLE",
      message: expect.stringMatching(/no calibration log to fit "beem-a"/),
    });
    const broken = bundleDir({ "exits.jsonl": '{"label":0,"exits":[[0.5,0.5]]}\nnot json\n' });
    await expect((await load(broken)).policyFor({ lambda: 0.1 })).rejects.toMatchObject({
      code: "INVALID_EXIT_LOG",
      message: expect.stringContaining(join(broken, "exits.jsonl")),
    });
  });

  it("fits with a risk bound, and falls back to full depth with a warning on a tiny log", async () => {
    const policies = await load(bundleDir());
    const risky = await policies.policyFor({ rule: "maxprob", maxLoss: 0.2, delta: 0.1 });
    expect(risky.rule).toBe("maxprob");
    const lines = readFileSync(join(bundleDir(), "exits.jsonl"), "utf8").split("\n").slice(0, 5);
    const tiny = await load(bundleDir({ "exits.jsonl": lines.join("\n") + "\n" }));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const fallback = await tiny.policyFor({ maxLoss: 0.01 });
      expect(fallback.rule).toBe("final");
      await new Promise((r) => setImmediate(r));
      expect(warnings.join("\n")).toMatch(/full depth|fall/i);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
