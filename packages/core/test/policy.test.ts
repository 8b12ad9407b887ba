import { describe, expect, it } from "vitest";
import { BeemError, createDecider, parsePolicy } from "../src/index.js";

function error(value: unknown): BeemError {
  try {
    parsePolicy(value, { source: "p.json" });
  } catch (e) {
    if (e instanceof BeemError) return e;
    throw e;
  }
  throw new Error("expected parsePolicy to throw");
}

describe("policy files", () => {
  it("accepts a hand-written BEEM policy and uses it as written", () => {
    const policy = parsePolicy({
      version: 1,
      rule: "beem",
      weights: [0.5, 0.75, 1],
      thresholds: [0.4, null],
      reset: "current",
    });
    expect(policy).toMatchObject({ numExits: 3, weighting: "explicit" });
    const run = createDecider(policy).begin();
    expect(run.step([0.9, 0.1])).toMatchObject({ exit: true, layer: 1, prediction: 0 });
  });

  it.each([
    [{ version: 2, rule: "beem" }, "UNSUPPORTED_POLICY_VERSION", /version 2 is not supported/],
    [{ rule: "beem" }, "UNSUPPORTED_POLICY_VERSION", /version undefined/],
    [{ version: 1, rule: "magic" }, "INVALID_POLICY", /field "rule" must be one of/],
    [
      { version: 1, rule: "beem", weights: [1, 1], thresholds: [0.5, 0.5] },
      "INVALID_POLICY",
      /"thresholds" must be an array of 1 entries/,
    ],
    [
      { version: 1, rule: "beem", weights: [1, "x"], thresholds: [0.5] },
      "INVALID_POLICY",
      /"weights\[1\]" must be a finite number/,
    ],
    [
      { version: 1, rule: "maxprob", thresholds: [0.5, "NaN"] },
      "INVALID_POLICY",
      /"thresholds\[1\]"/,
    ],
    [
      { version: 1, rule: "maxprob", thresholds: [0.5], treshold: 1 },
      "INVALID_POLICY",
      /field "treshold" is not part of/,
    ],
    [
      { version: 1, rule: "static", layer: 9, numExits: 6 },
      "INVALID_POLICY",
      /"layer" must be an integer in \[1, 6\]/,
    ],
    [{ version: 1, rule: "final" }, "INVALID_POLICY", /"numExits"/],
    [
      { version: 1, rule: "beem", weights: [1, 1], thresholds: [1], reset: "never" },
      "INVALID_POLICY",
      /"reset"/,
    ],
    [
      { version: 1, rule: "maxprob", thresholds: [0.5], lambda: -1 },
      "INVALID_POLICY",
      /"lambda" must be a finite number >= 0 but is -1/,
    ],
    [
      { version: 1, rule: "maxprob", thresholds: [0.5], costs: [1] },
      "INVALID_POLICY",
      /"costs" must be an array of 2 costs/,
    ],
    [[1, 2], "INVALID_POLICY", /must be a JSON object/],
  ])("rejects %j", (value, code, message) => {
    const e = error(value);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^p\.json: /);
    expect(e.message).toMatch(message);
  });
});
