// fitPolicy: the one entry that fits at lambda (calibrate) or under a loss bound (calibrateRisk).
import { describe, expect, it } from "vitest";
import {
  BeemError,
  calibrate,
  calibrateRisk,
  createExitTable,
  describeFit,
  fitPolicy,
  generateSyntheticExits,
  type ExitTable,
} from "../src/index.js";

const table = (samples: number, seed: number): ExitTable =>
  createExitTable(generateSyntheticExits({ samples, exits: 6, classes: 3, seed }));

describe("fitPolicy", () => {
  const log = table(1500, 21);

  it.each([
    ["beem-a", 0],
    ["beem-a", 0.02],
    ["maxprob", 0.01],
    ["entropy", 0.05],
  ] as const)("without maxLoss it is calibrate: rule %s at lambda %s", (rule, lambda) => {
    const result = fitPolicy(log, { rule, lambda });
    expect(result).toEqual({ policy: calibrate(log, { rule, lambda }) });
    expect("warning" in result).toBe(false);
  });

  it("passes costs through to calibrate", () => {
    const costs = [1, 1, 1, 2, 2, 4];
    const { policy } = fitPolicy(log, { rule: "maxprob", lambda: 0.02, costs });
    expect(policy).toEqual(calibrate(log, { rule: "maxprob", lambda: 0.02, costs }));
    expect(policy.costs).toEqual(costs);
  });

  it("with maxLoss it is calibrateRisk, with delta and loss passed on and lambda ignored", () => {
    const big = table(4000, 7);
    const options = { rule: "beem-a", maxLoss: 0.05, delta: 0.2, loss: "error" } as const;
    const result = fitPolicy(big, { ...options, lambda: 0.5 });
    expect(result).toEqual(calibrateRisk(big, options));
    expect(result.warning).toBeUndefined();
    expect(result.policy.riskControl).toMatchObject({ epsilon: 0.05, delta: 0.2, loss: "error" });
    // A different bound gives a different fit, so the options did reach calibrateRisk.
    expect(fitPolicy(big, { rule: "beem-a", maxLoss: 0.02 }).policy.riskControl?.epsilon).toBe(
      0.02,
    );
  });

  it("passes calibrateRisk's warning on when no early-exit policy can be certified", () => {
    const small = table(100, 3);
    const result = fitPolicy(small, { rule: "maxprob", maxLoss: 0.01 });
    expect(result).toEqual(calibrateRisk(small, { rule: "maxprob", maxLoss: 0.01 }));
    expect(result.policy.rule).toBe("final");
    expect(result.warning).toMatch(/^Running at full depth: .*at least 230 test lines/);
  });

  it.each([
    [{ rule: "nope" }, /Expected rule to be one of/],
    [{ rule: "maxprob", costs: [1, 2, 3] }, /Expected costs/],
    [{ rule: "maxprob", maxLoss: 0 }, /Expected maxLoss to be a number in \(0, 1\) but received 0/],
    [{ rule: "maxprob", maxLoss: 1.5 }, /Expected maxLoss to be a number in \(0, 1\)/],
    [{ rule: "maxprob", maxLoss: 0.1, delta: 0 }, /Expected delta to be a number in \(0, 1\)/],
    [{ rule: "maxprob", maxLoss: 0.1, loss: "bleu" }, /Expected loss to be one of/],
  ])("refuses %o with INVALID_ARGUMENT", (bad, message) => {
    let error: unknown;
    try {
      fitPolicy(log, bad as unknown as Parameters<typeof fitPolicy>[1]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BeemError);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", message });
  });

  it("refuses a log with a single exit", () => {
    const one = createExitTable(generateSyntheticExits({ samples: 50, exits: 1, seed: 1 }));
    expect(() => fitPolicy(one, { rule: "maxprob" })).toThrow(
      expect.objectContaining({
        code: "INVALID_ARGUMENT",
        message: expect.stringMatching(/at least 2 exits/),
      }),
    );
  });
});

describe("describeFit", () => {
  const log = table(1500, 21);

  it("names the rule as given, its lambda and the calibration figures of the policy", () => {
    const { policy } = fitPolicy(log, { rule: "beem-a", lambda: 0.02 });
    const c = policy.calibration!;
    expect(describeFit(policy, "beem-a")).toBe(
      `beem-a at lambda 0.02 on ${c.samples} samples: accuracy ${c.accuracy.toFixed(4)} ` +
        `(final exit ${c.finalAccuracy.toFixed(4)}), mean exit ${c.meanExitLayer.toFixed(2)} of 6, ` +
        `counted speed-up ${c.countedSpeedup.toFixed(2)}x`,
    );
    expect(c.samples).toBe(1500);
    // Without a name, the policy's own rule.
    expect(describeFit(policy)).toMatch(/^beem at lambda 0\.02 on 1500 samples/);
  });

  it("states a loss bound with the test's figures, by lines or by groups", () => {
    const { policy } = fitPolicy(table(4000, 7), { rule: "beem-a", maxLoss: 0.05 });
    const r = policy.riskControl!;
    expect(describeFit(policy, "beem-a")).toMatch(
      new RegExp(
        `^beem-a with loss \\(disagreement\\) <= 0\\.05 w\\.p\\. 0\\.9: ${r.empiricalLoss.toFixed(4)} ` +
          `on ${r.calibrationSamples} test lines, p-value ${r.pValue.toPrecision(3)}, on \\d+ samples: accuracy`,
      ),
    );
    const grouped = {
      ...policy,
      riskControl: { ...r, groups: { loss: "max", calibrationLines: 9000, pathLines: 9000 } },
    } as const;
    expect(describeFit(grouped, "beem-a")).toContain(
      `on ${r.calibrationSamples} test groups (9000 lines, max loss per group), p-value`,
    );
  });

  it("says full depth for a policy without calibration figures", () => {
    const { policy } = fitPolicy(table(100, 3), { rule: "maxprob", maxLoss: 0.01 });
    expect(policy.rule).toBe("final");
    expect(policy.calibration).toBeUndefined();
    expect(describeFit(policy, "maxprob")).toMatch(
      /^maxprob with loss \(disagreement\) <= 0\.01 w\.p\. 0\.9: .* full depth$/,
    );
  });
});
