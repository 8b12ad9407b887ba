// The threshold solver against brute force on problems small enough to enumerate.
import { describe, expect, it } from "vitest";
import { createExitTable, generateSyntheticExits } from "../src/index.js";
import { correctMatrix, scoreMatrix } from "../src/exit-table.js";
import {
  LAMBDA_GRID,
  bestCandidate,
  perExitCandidates,
  scoreCandidate,
  sharedThresholdCandidates,
  type ThresholdProblem,
} from "../src/threshold-solver.js";
import { cumulativeCostFractions, equalCosts } from "../src/weights.js";

function problem(seed: number, samples: number, exits: number): ThresholdProblem {
  const table = createExitTable(generateSyntheticExits({ samples, exits, classes: 3, seed }));
  return {
    numSamples: samples,
    numExits: exits,
    scores: scoreMatrix(table, {
      rule: "beem",
      weights: [0.5, 0.7, 0.9, 1].slice(-exits),
      reset: "current",
    }),
    correct: correctMatrix(table),
    costFractions: cumulativeCostFractions(equalCosts(exits)),
  };
}

/** Every threshold vector built from observed scores (and infinity), exhaustively. */
function bruteForce(p: ThresholdProblem, lambda: number): number {
  const width = p.numExits - 1;
  const values = Array.from({ length: width }, (_, i) => {
    const v = new Set<number>([Infinity]);
    for (let j = 0; j < p.numSamples; j++) v.add(p.scores[j * width + i]!);
    return [...v];
  });
  let best = Infinity;
  const alpha = new Float64Array(width);
  const visit = (i: number): void => {
    if (i === width) {
      const c = scoreCandidate(p, alpha);
      best = Math.min(best, c.errors + lambda * c.cost);
      return;
    }
    for (const v of values[i]!) {
      alpha[i] = v;
      visit(i + 1);
    }
  };
  visit(0);
  return best;
}

describe("threshold solver", () => {
  it("the shared-threshold sweep reports the true errors and cost of every candidate", () => {
    const p = problem(3, 200, 4);
    for (const c of sharedThresholdCandidates(p)) {
      const direct = scoreCandidate(p, c.thresholds);
      expect(c.errors).toBe(direct.errors);
      expect(c.cost).toBeCloseTo(direct.cost, 9);
    }
  });

  it("per-exit candidates reach the exhaustive optimum on small problems at grid lambdas", () => {
    for (const seed of [1, 2, 3]) {
      const p = problem(seed, 40, 3);
      const candidates = [...perExitCandidates(p), ...sharedThresholdCandidates(p)];
      for (const lambda of [0, 0.05, 0.2, 1]) {
        expect(LAMBDA_GRID).toContain(lambda);
        const found = bestCandidate(candidates, lambda);
        expect(found.errors + lambda * found.cost).toBeCloseTo(bruteForce(p, lambda), 9);
      }
    }
  });

  it("on larger problems per-exit thresholds are never worse than the best shared one", () => {
    const p = problem(5, 800, 4);
    const shared = sharedThresholdCandidates(p);
    const perExit = perExitCandidates(p);
    for (const lambda of LAMBDA_GRID) {
      const a = bestCandidate(perExit, lambda);
      const b = bestCandidate(shared, lambda);
      expect(a.errors + lambda * a.cost).toBeLessThanOrEqual(b.errors + lambda * b.cost + 1e-9);
    }
  });
});
