// One suite, run against every rule: what any exit rule of this library must satisfy.
import { describe, expect, it } from "vitest";
import {
  CALIBRATION_RULES,
  calibrate,
  createCalibrator,
  createDecider,
  createExitTable,
  evaluate,
  generateSyntheticExits,
  parsePolicy,
  replay,
  scoreThresholds,
  serializePolicy,
  type Policy,
} from "../src/index.js";

const calibrationSamples = generateSyntheticExits({
  samples: 1500,
  exits: 8,
  classes: 3,
  seed: 11,
});
const testSamples = generateSyntheticExits({ samples: 400, exits: 8, classes: 3, seed: 12 });
const calibration = createExitTable(calibrationSamples);
const test = createExitTable(testSamples);
const LAMBDAS = [0, 0.001, 0.004, 0.01, 0.025, 0.04, 0.1, 0.3, 1, 3];

/** Never stop early: every threshold at "infinity" in the rule's own units. */
function closed(policy: Policy): Policy {
  switch (policy.rule) {
    case "static":
      return { ...policy, layer: policy.numExits };
    case "final":
      return policy;
    default:
      return { ...policy, thresholds: policy.thresholds.map(() => null) };
  }
}

describe.each(CALIBRATION_RULES)("rule %s", (rule) => {
  const calibrator = createCalibrator(calibration, { rule });
  const policies = LAMBDAS.map((lambda) => calibrator.fit(lambda));

  it("replay decides exactly as the step API does, sample by sample", () => {
    const policy = policies[4]!;
    const decisions = replay(policy, test);
    const decider = createDecider(policy);
    testSamples.forEach((sample, j) => {
      const run = decider.begin();
      let d = run.step(sample.exits[0]!);
      while (!d.exit) d = run.step(sample.exits[run.layer]!);
      expect([d.layer, d.prediction]).toEqual([decisions.exitLayers[j], decisions.predictions[j]]);
    });
  });

  it("with every threshold at infinity it is the last exit exactly", () => {
    const decisions = replay(closed(policies[6]!), test);
    expect(Array.from(new Set(decisions.exitLayers))).toEqual([8]);
    decisions.predictions.forEach((p, j) => expect(p).toBe(test.predictions[j * 8 + 7]));
  });

  it("at lambda = 0 it is no less accurate than the last exit on the calibration set", () => {
    const c = policies[0]!.calibration!;
    expect(c.accuracy).toBeGreaterThanOrEqual(c.finalAccuracy);
  });

  it("its cost never rises as lambda grows", () => {
    const costs = policies.map((p) => p.calibration!.cost);
    for (let i = 1; i < costs.length; i++)
      expect(costs[i]).toBeLessThanOrEqual(costs[i - 1]! + 1e-12);
  });

  it("its objective is no worse than never stopping early, at every lambda", () => {
    policies.forEach((p, i) => {
      const never = 1 - p.calibration!.finalAccuracy + LAMBDAS[i]! * 1;
      expect(p.calibration!.objective).toBeLessThanOrEqual(never + 1e-12);
    });
  });

  it("the same input gives the same policy", () => {
    const again = calibrate(calibration, { rule, lambda: LAMBDAS[5]! });
    expect(serializePolicy(again)).toBe(serializePolicy(policies[5]!));
  });

  it("survives a JSON round trip with identical decisions", () => {
    const policy = policies[3]!;
    const reloaded = parsePolicy(JSON.parse(serializePolicy(policy)));
    expect(Array.from(scoreThresholds(reloaded))).toEqual(Array.from(scoreThresholds(policy)));
    expect(replay(reloaded, test)).toEqual(replay(policy, test));
  });

  it("reports consistent counts: exits sum to samples, speed-up = L / mean exit", () => {
    const r = evaluate(policies[7]!, test);
    expect(r.exitCounts.reduce((a, b) => a + b, 0)).toBe(400);
    expect(r.countedSpeedup).toBeCloseTo(8 / r.meanExitLayer, 12);
    expect(r.costSpeedup).toBeCloseTo(r.countedSpeedup, 9);
  });

  it("its calibration summary matches a replay on the calibration set", () => {
    const p = policies[5]!;
    const r = evaluate(p, calibration);
    expect(p.calibration!.accuracy).toBeCloseTo(r.accuracy, 12);
    expect(p.calibration!.errorRate).toBeCloseTo(1 - r.accuracy, 12);
    expect(p.calibration!.cost).toBeCloseTo(1 / r.costSpeedup, 12);
  });
});

describe("calibration across rules", () => {
  it("large lambdas buy real speed-ups for the threshold rules", () => {
    for (const rule of ["beem-a", "beem-c", "maxprob", "entropy"] as const) {
      const p = calibrate(calibration, { rule, lambda: 1 });
      expect(p.calibration!.countedSpeedup).toBeGreaterThan(1.5);
    }
  });

  it("per-exit BEEM thresholds are at least as good as a shared BEEM threshold", () => {
    for (const lambda of [0, 0.01, 0.05, 0.2]) {
      const perExit = calibrate(calibration, { rule: "beem-a", lambda });
      const shared = calibrate(calibration, { rule: "beem-a", lambda, thresholds: "shared" });
      expect(perExit.calibration!.objective).toBeLessThanOrEqual(
        shared.calibration!.objective + 1e-12,
      );
    }
  });

  it("measured costs change BEEM-C's weights and the cost of each exit", () => {
    const costs = [4, 1, 1, 1, 1, 1, 1, 1];
    const p = calibrate(calibration, { rule: "beem-c", lambda: 0.05, costs });
    if (p.rule !== "beem") throw new Error("expected a BEEM policy");
    expect(p.weights[0]).toBeCloseTo(4 / 11, 12);
    expect(p.costs).toEqual(costs);
  });
});
