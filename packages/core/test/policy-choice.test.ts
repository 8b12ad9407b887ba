import { describe, expect, it } from "vitest";
import { choosePolicy, foldFixedCost, type Policy } from "../src/index.js";

const defaultPolicy: Policy = { version: 1, rule: "maxprob", numExits: 3, thresholds: [0.9, 0.9] };
const fitted: [string, number | { maxLoss: number; delta?: number }][] = [];
const context = {
  numExits: 3,
  defaultPolicy,
  fit: (rule: string, lambda: number): Policy => {
    fitted.push([rule, lambda]);
    return { version: 1, rule: "static", numExits: 3, layer: 2, lambda };
  },
  fitRisk: (rule: string, risk: { maxLoss: number; delta?: number }): Policy => {
    fitted.push([rule, risk]);
    return { version: 1, rule: "static", numExits: 3, layer: 2 };
  },
};

describe("choosePolicy", () => {
  it("gives the default, full depth, a given policy, or a fitted rule", async () => {
    expect(await choosePolicy({}, context)).toBe(defaultPolicy);
    expect(await choosePolicy({ full: true }, context)).toEqual({
      version: 1,
      rule: "final",
      numExits: 3,
    });
    const given: Policy = { version: 1, rule: "final", numExits: 3 };
    expect(await choosePolicy({ policy: given }, context)).toBe(given);
    await choosePolicy({ rule: "entropy", lambda: 0.1 }, context);
    await choosePolicy({ lambda: 0.2 }, context);
    await choosePolicy({ maxLoss: 0.02 }, context);
    await choosePolicy({ rule: "maxprob", maxLoss: 0.05, delta: 0.2 }, context);
    expect(fitted).toEqual([
      ["entropy", 0.1],
      ["beem-a", 0.2],
      ["beem-a", { maxLoss: 0.02 }],
      ["maxprob", { maxLoss: 0.05, delta: 0.2 }],
    ]);
  });

  it.each([
    [
      { policy: defaultPolicy, lambda: 0.1 },
      /Give either "policy" or "rule"\/"lambda"\/"maxLoss", not both/,
    ],
    [{ rule: "nope" as never }, /Expected rule to be one of "beem-a"/],
    [{ maxLoss: 1.5 }, /Expected maxLoss to be a number in \(0, 1\) but received 1\.5/],
    [{ maxLoss: 0.1, delta: 0 }, /Expected delta to be a number in \(0, 1\) but received 0/],
    [{ maxLoss: 0.1, lambda: 0.1 }, /Give either "lambda" or "maxLoss", not both/],
    [{ delta: 0.1 }, /"delta" goes with "maxLoss"/],
    [{ lambda: -1 }, /Expected lambda to be a finite number >= 0 but received -1/],
    [
      { policy: { version: 1, rule: "final", numExits: 5 } as Policy },
      /The policy is for 5 exits but the model has 3/,
    ],
  ])("rejects %j", async (choice, message) => {
    await expect(choosePolicy(choice, context)).rejects.toThrow(message);
  });
});

describe("foldFixedCost", () => {
  it("adds the fixed cost to exit 1 only", () => {
    expect(foldFixedCost([1, 2, 3], 0.5)).toEqual([1.5, 2, 3]);
  });
});
