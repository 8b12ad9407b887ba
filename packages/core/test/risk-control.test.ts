// Risk-controlled calibration (Learn-then-Test): the p-values, the guarantee checked by
// simulation on a known distribution, and the refusals.
import { describe, expect, it } from "vitest";
import {
  calibrateRisk,
  createLossMeter,
  createExitTable,
  generateSyntheticExits,
  hoeffdingBentkusPValue,
  neededSamples,
  type ExitTable,
  type Policy,
} from "../src/index.js";

const table = (samples: number, seed: number): ExitTable =>
  createExitTable(generateSyntheticExits({ samples, exits: 6, classes: 3, seed }));

describe("Hoeffding-Bentkus p-values", () => {
  it("match the closed forms at zero loss and grow with the empirical loss", () => {
    // At zero loss: min((1 - eps)^n, e (1 - eps)^n) = (1 - eps)^n.
    expect(hoeffdingBentkusPValue(0, 1000, 0.01)).toBeCloseTo(0.99 ** 1000, 12);
    let previous = 0;
    for (const risk of [0, 0.002, 0.005, 0.008, 0.01]) {
      const p = hoeffdingBentkusPValue(risk, 2000, 0.01);
      expect(p).toBeGreaterThanOrEqual(previous);
      previous = p;
    }
    // At or above epsilon nothing can be rejected.
    expect(hoeffdingBentkusPValue(0.01, 2000, 0.01)).toBe(1);
    expect(hoeffdingBentkusPValue(0.3, 2000, 0.01)).toBe(1);
  });

  it("agree with the binomial tail computed directly for a small n", () => {
    // n = 50, eps = 0.1, risk = 0.02 (one loss): e * P(Bin(50, 0.1) <= 1).
    const cdf = 0.9 ** 50 + 50 * 0.1 * 0.9 ** 49;
    const hoeffding = Math.exp(-50 * (0.02 * Math.log(0.2) + 0.98 * Math.log(0.98 / 0.9)));
    expect(hoeffdingBentkusPValue(0.02, 50, 0.1)).toBeCloseTo(
      Math.min(hoeffding, Math.E * cdf),
      12,
    );
  });

  it("need ln(delta) / ln(1 - eps) lines at zero loss", () => {
    expect(neededSamples(0.01, 0.1)).toBe(230);
    expect(hoeffdingBentkusPValue(0, 230, 0.01)).toBeLessThanOrEqual(0.1);
    expect(hoeffdingBentkusPValue(0, 229, 0.01)).toBeGreaterThan(0.1);
  });
});

describe("calibrateRisk", () => {
  // The truth: a large independent sample of the same distribution.
  const truth = table(20_000, 99);
  const meters = {
    disagreement: createLossMeter(truth, "disagreement"),
    error: createLossMeter(truth, "error"),
  };
  const lossOf = (policy: Policy, loss: "disagreement" | "error") => meters[loss](policy);

  it.each([
    ["maxprob", "disagreement", 0.05],
    ["beem-a", "error", 0.05],
  ] as const)(
    "%s with %s loss: over 1,000 calibration draws the chosen policy's true loss exceeds epsilon in at most delta of them",
    (rule, loss, epsilon) => {
      const delta = 0.1;
      const draws = 1000;
      let violations = 0;
      let speedups = 0;
      for (let d = 0; d < draws; d++) {
        const { policy } = calibrateRisk(table(600, 1000 + d), {
          rule,
          maxLoss: epsilon,
          delta,
          loss,
          ...(rule === "beem-a" && { thresholds: "shared" as const }),
        });
        if (lossOf(policy, loss) > epsilon) violations++;
        if (policy.rule !== "final") speedups++;
      }
      const rate = violations / draws;
      const standardError = Math.sqrt((delta * (1 - delta)) / draws);
      expect(rate).toBeLessThanOrEqual(delta + standardError);
      // Not vacuous: most draws certify some early exit.
      expect(speedups).toBeGreaterThan(draws / 2);
    },
    60_000,
  );

  it("records the guarantee in the policy and reports the loss realised on the test lines", () => {
    const { policy, warning } = calibrateRisk(table(4000, 7), {
      rule: "beem-a",
      maxLoss: 0.05,
      delta: 0.1,
    });
    expect(warning).toBeUndefined();
    expect(policy.rule).toBe("beem");
    const r = policy.riskControl!;
    expect(r).toMatchObject({
      epsilon: 0.05,
      delta: 0.1,
      loss: "disagreement",
      calibrationSamples: 2000,
      pathSamples: 2000,
    });
    expect(r.pValue).toBeLessThanOrEqual(0.1);
    expect(r.empiricalLoss).toBeLessThan(0.05);
    expect(policy.calibration!.meanExitLayer).toBeLessThan(6);
    // Tighter bounds never give a faster policy.
    const tight = calibrateRisk(table(4000, 7), { rule: "beem-a", maxLoss: 0.02 }).policy;
    expect(tight.calibration?.meanExitLayer ?? 6).toBeGreaterThanOrEqual(
      policy.calibration!.meanExitLayer,
    );
  });

  it("falls back to full depth on a log too small, saying how many lines would do", () => {
    const { policy, warning } = calibrateRisk(table(100, 3), { rule: "maxprob", maxLoss: 0.01 });
    expect(policy.rule).toBe("final");
    expect(warning).toMatch(/at least 230 test lines \(460 in a log this size\)/);
  });

  it.each([
    [{ maxLoss: 0 }, /Expected maxLoss to be a number in \(0, 1\) but received 0/],
    [{ maxLoss: 1 }, /Expected maxLoss to be a number in \(0, 1\) but received 1/],
    [{ maxLoss: Number.NaN }, /Expected maxLoss to be a number in \(0, 1\) but received NaN/],
    [{ maxLoss: 0.1, delta: 1.5 }, /Expected delta to be a number in \(0, 1\) but received 1\.5/],
    [{ maxLoss: 0.1, loss: "bleu" }, /Expected loss to be one of/],
  ])("refuses %o", (bad, message) => {
    expect(() =>
      calibrateRisk(table(200, 1), { rule: "maxprob", ...(bad as { maxLoss: number }) }),
    ).toThrow(message);
  });
});

describe("calibrateRisk on grouped lines", () => {
  // A caption log has one line per token and an image's tokens are correlated. The extreme case:
  // each group is one independent draw repeated `size` times, so a group's loss equals its
  // line's loss and the true loss is that of independent lines.
  const truth = createLossMeter(table(20_000, 99), "disagreement");
  const grouped = (groups: number, size: number, seed: number): ExitTable => {
    const samples = generateSyntheticExits({ samples: groups, exits: 6, classes: 3, seed });
    return createExitTable(
      samples.flatMap((s, g) =>
        Array.from({ length: size }, () => ({ ...s, group: `image-${g}` })),
      ),
    );
  };
  const violationRate = (draws: number) => {
    const epsilon = 0.1;
    let violations = 0;
    let speedups = 0;
    for (let d = 0; d < draws; d++) {
      // 120 groups: 60 test the path, enough to certify at epsilon 0.1 (22 needed at zero loss).
      const { policy } = calibrateRisk(grouped(120, 20, 5000 + d), {
        rule: "maxprob",
        maxLoss: epsilon,
        delta: 0.1,
      });
      if (truth(policy) > epsilon) violations++;
      if (policy.rule !== "final") speedups++;
    }
    return { rate: violations / draws, speedups };
  };

  it("groups of 20 identical lines: over 1,000 draws the true loss exceeds epsilon in at most delta of them", () => {
    const draws = 1000;
    const { rate, speedups } = violationRate(draws);
    const standardError = Math.sqrt((0.1 * 0.9) / draws);
    expect(rate).toBeLessThanOrEqual(0.1 + standardError);
    // Not vacuous: most draws still certify some early exit.
    expect(speedups).toBeGreaterThan(draws / 2);
  }, 60_000);

  it("splits by group and reports groups as the samples, lines beside them", () => {
    const { policy } = calibrateRisk(grouped(400, 5, 11), { rule: "maxprob", maxLoss: 0.05 });
    expect(policy.riskControl).toMatchObject({
      calibrationSamples: 200,
      pathSamples: 200,
      groups: { loss: "mean", calibrationLines: 1000, pathLines: 1000 },
    });
  });

  it("group loss: mean of the lines' losses or their max", () => {
    // Two groups: one line of three lost in the first, none in the second.
    const line = (label: number, top: number, group: string) => ({
      label,
      group,
      exits: [
        top === 0 ? [0.9, 0.05, 0.05] : [0.05, 0.9, 0.05],
        label === 0 ? [0.9, 0.05, 0.05] : [0.05, 0.9, 0.05],
      ],
    });
    const t = createExitTable([line(0, 1, "a"), line(0, 0, "a"), line(1, 1, "a"), line(0, 0, "b")]);
    const always: Policy = { version: 1, numExits: 2, rule: "static", layer: 1 };
    expect(createLossMeter(t, "disagreement")(always)).toBeCloseTo((1 / 3 + 0) / 2, 12);
    expect(createLossMeter(t, "disagreement", { groupLoss: "max" })(always)).toBeCloseTo(0.5, 12);
  });

  it("refuses a log where some lines have a group and others not", () => {
    const s = generateSyntheticExits({ samples: 2, exits: 3, classes: 3, seed: 1 });
    expect(() => createExitTable([{ ...s[0]!, group: "a" }, s[1]!])).toThrow(
      /sample 2: has no field "group" but earlier lines do/,
    );
    expect(() => createExitTable([s[0]!, { ...s[1]!, group: "a" }])).toThrow(
      /sample 2: has a field "group" but earlier lines do not/,
    );
  });
});
