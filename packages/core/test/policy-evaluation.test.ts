// evaluatePolicy: decisions, report, per-exit accuracies and realised loss, each checked against
// an independent computation (the step API, plain argmax, a hand-worked tiny log).
import { describe, expect, it } from "vitest";
import {
  calibrate,
  calibrateRisk,
  createDecider,
  createExitTable,
  evaluatePolicy,
  fullDepthPolicy,
  generateSyntheticExits,
  type ExitSample,
  type Policy,
} from "../src/index.js";

const argmax = (p: ArrayLike<number>): number => {
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
  return best;
};

/** Each sample's 1-based exit layer and prediction, as the step API decides them. */
function stepDecisions(policy: Policy, samples: readonly ExitSample[]) {
  const decider = createDecider(policy);
  return samples.map((sample) => {
    const run = decider.begin();
    let d = run.step(sample.exits[0]!);
    while (!d.exit) d = run.step(sample.exits[run.layer]!);
    return { layer: d.layer, prediction: d.prediction };
  });
}

const L = 6;
const calibrationSamples = generateSyntheticExits({
  samples: 1500,
  exits: L,
  classes: 3,
  seed: 31,
});
const testSamples = generateSyntheticExits({ samples: 500, exits: L, classes: 3, seed: 32 });
const calibration = createExitTable(calibrationSamples);
const test = createExitTable(testSamples);

describe("evaluatePolicy", () => {
  it("decides as the step API does and reports accuracy, exit counts and speed-up of it", () => {
    const policy = calibrate(calibration, { rule: "beem-a", lambda: 0.02 });
    const result = evaluatePolicy(policy, test);
    const expected = stepDecisions(policy, testSamples);
    expect(Array.from(result.decisions.exitLayers)).toEqual(expected.map((d) => d.layer));
    expect(Array.from(result.decisions.predictions)).toEqual(expected.map((d) => d.prediction));

    const n = testSamples.length;
    const hits = expected.filter((d, j) => d.prediction === testSamples[j]!.label).length;
    const finalHits = testSamples.filter((s) => argmax(s.exits[L - 1]!) === s.label).length;
    const meanLayer = expected.reduce((a, d) => a + d.layer, 0) / n;
    const counts = Array.from({ length: L }, (_, i) => expected.filter((d) => d.layer === i + 1));
    // The policy stops some samples early, so the speed-up is not the trivial 1.
    expect(meanLayer).toBeLessThan(L);
    expect(result.report).toMatchObject({
      samples: n,
      numExits: L,
      exitCounts: counts.map((c) => c.length),
    });
    expect(result.report.accuracy).toBeCloseTo(hits / n, 12);
    expect(result.report.finalAccuracy).toBeCloseTo(finalHits / n, 12);
    expect(result.report.meanExitLayer).toBeCloseTo(meanLayer, 12);
    expect(result.report.countedSpeedup).toBeCloseTo(L / meanLayer, 12);
    // Equal layers: the cost speed-up is the counted one.
    expect(result.report.costSpeedup).toBeCloseTo(L / meanLayer, 12);
    expect("risk" in result).toBe(false);
  });

  it("counts the speed-up with the policy's own costs", () => {
    const costs = [1, 1, 2, 2, 3, 5];
    const policy = calibrate(calibration, { rule: "maxprob", lambda: 0.02, costs });
    const { report } = evaluatePolicy(policy, test);
    const total = costs.reduce((a, b) => a + b, 0);
    const spent = stepDecisions(policy, testSamples).map((d) =>
      costs.slice(0, d.layer).reduce((a, b) => a + b, 0),
    );
    const meanSpent = spent.reduce((a, b) => a + b, 0) / spent.length;
    expect(report.costSpeedup).toBeCloseTo(total / meanSpent, 12);
    expect(report.costSpeedup).not.toBeCloseTo(report.countedSpeedup, 3);
  });

  it("gives each exit's own accuracy, whatever the policy decides", () => {
    const expected = Array.from(
      { length: L },
      (_, i) =>
        testSamples.filter((s) => argmax(s.exits[i]!) === s.label).length / testSamples.length,
    );
    for (const policy of [
      fullDepthPolicy(L),
      calibrate(calibration, { rule: "entropy", lambda: 0.05 }),
    ]) {
      const { exitAccuracies } = evaluatePolicy(policy, test);
      expect(exitAccuracies).toHaveLength(L);
      exitAccuracies.forEach((a, i) => expect(a).toBeCloseTo(expected[i]!, 12));
    }
  });

  it("on a hand-worked log: full depth answers with the last exit", () => {
    // Three samples, two exits, two classes. Exit 1 is right on samples 0 and 2, exit 2 on 0 and 1.
    const samples: ExitSample[] = [
      {
        label: 0,
        exits: [
          [0.9, 0.1],
          [0.8, 0.2],
        ],
      },
      {
        label: 1,
        exits: [
          [0.6, 0.4],
          [0.3, 0.7],
        ],
      },
      {
        label: 1,
        exits: [
          [0.2, 0.8],
          [0.55, 0.45],
        ],
      },
    ];
    const result = evaluatePolicy(fullDepthPolicy(2), createExitTable(samples));
    expect(Array.from(result.decisions.exitLayers)).toEqual([2, 2, 2]);
    expect(Array.from(result.decisions.predictions)).toEqual([0, 1, 0]);
    expect(result.exitAccuracies).toEqual([2 / 3, 2 / 3]);
    expect(result.report).toMatchObject({
      samples: 3,
      numExits: 2,
      exitCounts: [0, 3],
      meanExitLayer: 2,
      countedSpeedup: 1,
    });
    expect(result.report.accuracy).toBeCloseTo(2 / 3, 12);
    expect(result.report.finalAccuracy).toBeCloseTo(2 / 3, 12);
    expect(result.report.costSpeedup).toBeCloseTo(1, 12);
  });

  it.each(["disagreement", "error"] as const)(
    "reports a risk-controlled policy's bound and the %s loss it realises on the log",
    (loss) => {
      const big = createExitTable(
        generateSyntheticExits({ samples: 4000, exits: L, classes: 3, seed: 7 }),
      );
      const { policy, warning } = calibrateRisk(big, {
        rule: "beem-a",
        maxLoss: 0.05,
        delta: 0.2,
        loss,
      });
      expect(warning).toBeUndefined();
      const result = evaluatePolicy(policy, test);
      const decisions = stepDecisions(policy, testSamples);
      const lost = decisions.filter((d, j) => {
        const s = testSamples[j]!;
        const final = argmax(s.exits[L - 1]!);
        return loss === "disagreement"
          ? d.prediction !== final
          : d.prediction !== s.label && final === s.label;
      }).length;
      expect(result.risk).toMatchObject({ loss, maxLoss: 0.05, delta: 0.2 });
      expect(result.risk!.realisedLoss).toBeCloseTo(lost / testSamples.length, 12);
      // The policy exits early on some samples, and some of them lose.
      expect(decisions.some((d) => d.layer < L)).toBe(true);
      expect(lost).toBeGreaterThan(0);
    },
  );

  it("counts the realised loss per group on a grouped log", () => {
    // Two groups: "a" (two lines, one lost) and "b" (one line, not lost).
    // Exit 1 of line 0 disagrees with its exit 2; lines 1 and 2 agree.
    const grouped: ExitSample[] = [
      {
        label: 0,
        group: "a",
        exits: [
          [0.9, 0.1],
          [0.2, 0.8],
        ],
      },
      {
        label: 0,
        group: "a",
        exits: [
          [0.95, 0.05],
          [0.7, 0.3],
        ],
      },
      {
        label: 1,
        group: "b",
        exits: [
          [0.1, 0.9],
          [0.3, 0.7],
        ],
      },
    ];
    const table = createExitTable(grouped);
    // Every line stops at exit 1 under a threshold of 0.5 on maxprob.
    const base = calibrate(table, { rule: "maxprob", lambda: 10 });
    const policy = {
      ...base,
      riskControl: { epsilon: 0.3, delta: 0.1, loss: "disagreement", groups: { loss: "max" } },
    } as unknown as Policy;
    const result = evaluatePolicy(policy, table);
    expect(Array.from(result.decisions.exitLayers)).toEqual([1, 1, 1]);
    // max over lines: group a loses 1, group b 0; the mean over the two groups is 1/2.
    expect(result.risk!.realisedLoss).toBeCloseTo(0.5, 12);
    // Without a group loss recorded, a group's loss is its mean: (1/2 + 0) / 2.
    const { groups: _, ...meanPolicy } = policy.riskControl!;
    const mean = evaluatePolicy({ ...policy, riskControl: meanPolicy } as Policy, table);
    expect(mean.risk!.realisedLoss).toBeCloseTo(0.25, 12);
  });

  it("refuses a policy for another number of exits", () => {
    expect(() => evaluatePolicy(fullDepthPolicy(L + 1), test)).toThrow(
      expect.objectContaining({
        code: "INVALID_ARGUMENT",
        message: expect.stringMatching(/policy is for 7 exits but the log has 6/),
      }),
    );
  });
});
