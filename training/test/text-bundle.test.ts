// The committed text bundle: its ONNX graphs against PyTorch's stored outputs, and its files.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseExitLog, parsePolicy } from "@beem-ts/core";
import { readTextManifest } from "@beem-ts/text";
import { compareWithGolden } from "../text/golden.js";

const BUNDLE = resolve(import.meta.dirname, "../../models/sst2-beem");
const present = existsSync(join(BUNDLE, "manifest.json"));
if (!present)
  console.warn(
    `SKIPPED text bundle tests: ${BUNDLE} has no manifest.json (the bundle is not committed yet)`,
  );

describe.runIf(present)("models/sst2-beem", () => {
  it("onnxruntime-node matches PyTorch within 1e-4 on every exit", async () => {
    const r = await compareWithGolden(BUNDLE);
    expect(r.inputs).toBeGreaterThanOrEqual(4);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });

  it("has a valid manifest with measured costs, a default policy and a calibration log", async () => {
    const m = await readTextManifest(BUNDLE);
    expect(m.numExits).toBeGreaterThanOrEqual(6);
    expect(m.costs?.exits).toHaveLength(m.numExits);
    const policy = parsePolicy(JSON.parse(readFileSync(join(BUNDLE, m.policy!), "utf8")));
    expect(policy.numExits).toBe(m.numExits);
    const log = parseExitLog(readFileSync(join(BUNDLE, "calibration-exits.jsonl"), "utf8"));
    expect(log.numSamples).toBeGreaterThanOrEqual(2000);
    expect(log.numExits).toBe(m.numExits);
  });
});
