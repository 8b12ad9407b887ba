// Hand-worked examples of BEEM's aggregation and of the baselines' scores.
import { describe, expect, it } from "vitest";
import { costWeights, createDecider, createScorer, summarize, type Policy } from "../src/index.js";

const exits = [
  [0.6, 0.4], // y=0, C=0.6
  [0.7, 0.3], // y=0, C=0.7 (agrees)
  [0.2, 0.8], // y=1, C=0.8 (disagrees)
  [0.1, 0.9], // y=1, C=0.9 (agrees)
];
const weights = [0.25, 0.5, 0.75, 1];

function scores(spec: Parameters<typeof createScorer>[0]): number[] {
  const scorer = createScorer(spec);
  return exits.map((p) => scorer.next(summarize(p)));
}

function beemPolicy(thresholds: (number | null)[], reset: "current" | "zero" = "current"): Policy {
  return {
    version: 1,
    rule: "beem",
    weighting: "explicit",
    numExits: 4,
    weights,
    reset,
    thresholds,
  };
}

describe("BEEM aggregation", () => {
  it("sums weighted confidences while neighbours agree and restarts at the disagreeing expert", () => {
    // S1 = .25*.6; S2 = S1 + .5*.7; S3 = .75*.8 (new chain); S4 = S3 + 1*.9
    const s = scores({ rule: "beem", weights, reset: "current" });
    const expected = [0.15, 0.5, 0.6, 1.5];
    s.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });

  it('restarts at zero with reset "zero", as the paper\'s code does', () => {
    const s = scores({ rule: "beem", weights, reset: "zero" });
    const expected = [0.15, 0.5, 0, 0.9];
    s.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });

  it("stops at the first exit whose score reaches its threshold and answers that exit's class", () => {
    const run = createDecider(beemPolicy([0.55, 0.55, 0.55])).begin();
    const decisions = exits.map((p) => (run.done ? undefined : run.step(p))).filter((d) => d);
    expect(decisions.map((d) => d!.exit)).toEqual([false, false, true]);
    expect(decisions[2]).toMatchObject({ exit: true, layer: 3, prediction: 1 });
    expect(decisions[2]!.score).toBeCloseTo(0.6, 12);
  });

  it("after a zero reset the same thresholds run to the last exit", () => {
    const run = createDecider(beemPolicy([0.55, 0.55, 0.55], "zero")).begin();
    let last;
    for (const p of exits) last = run.step(p);
    expect(last).toMatchObject({ exit: true, layer: 4, prediction: 1 });
  });

  it("a threshold reached exactly counts as reached", () => {
    const run = createDecider(beemPolicy([0.5, 0.5, 0.5])).begin();
    expect(run.step(exits[0]!).exit).toBe(false);
    expect(run.step(exits[1]!)).toMatchObject({ exit: true, layer: 2, prediction: 0 });
  });

  it("null thresholds never stop and the last exit always answers", () => {
    const run = createDecider(beemPolicy([null, null, null])).begin();
    const d = exits.map((p) => run.step(p));
    expect(d.map((x) => x.exit)).toEqual([false, false, false, true]);
    expect(() => run.step(exits[0]!)).toThrow(/already stopped at exit 4/);
  });

  it("BEEM-C weights are i / L for equal layers and follow measured costs otherwise", () => {
    costWeights([1, 1, 1, 1]).forEach((w, i) => expect(w).toBeCloseTo((i + 1) / 4, 12));
    const w = costWeights([2, 1, 1]);
    [0.5, 0.75, 1].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 12));
  });
});

describe("baseline scores", () => {
  it("max-probability is the confidence, entropy its negated entropy in nats", () => {
    scores({ rule: "maxprob" }).forEach((s, i) =>
      expect(s).toBeCloseTo(Math.max(...exits[i]!), 12),
    );
    const h = -(0.6 * Math.log(0.6) + 0.4 * Math.log(0.4));
    expect(scores({ rule: "entropy" })[0]).toBeCloseTo(-h, 12);
  });

  it("patience counts earlier exits in a row that agree", () => {
    expect(scores({ rule: "patience" })).toEqual([0, 1, 0, 1]);
  });

  it("static scores are the layer number", () => {
    expect(scores({ rule: "static" })).toEqual([1, 2, 3, 4]);
  });

  it("an entropy policy stops once entropy falls to its ceiling", () => {
    const policy: Policy = {
      version: 1,
      rule: "entropy",
      numExits: 4,
      thresholds: [0.4, 0.4, 0.4],
    };
    const run = createDecider(policy).begin();
    // entropies: .673, .611, .500, .325
    expect(exits.map((p) => (run.done ? "-" : run.step(p).exit))).toEqual([
      false,
      false,
      false,
      true,
    ]);
    const stopAt3 = createDecider({ ...policy, thresholds: [0.5005, 0.5005, 0.5005] }).begin();
    expect(exits.slice(0, 3).map((p) => stopAt3.step(p).exit)).toEqual([false, false, true]);
  });
});
