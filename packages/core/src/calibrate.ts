// Calibration: fit a rule's thresholds on labelled exit outputs for a cost parameter lambda.
import { checkFiniteNumber, checkNumberArray, checkOneOf } from "./check.js";
import { BeemError } from "./errors.js";
import { correctMatrix, exitAccuracies, scoreMatrix, type ExitTable } from "./exit-table.js";
import { evaluate } from "./evaluate.js";
import { POLICY_VERSION, thresholdsFromScores, type Policy } from "./policy.js";
import { CALIBRATION_RULES, type CalibrationRule, type Reset, type ScoreSpec } from "./rules.js";
import {
  LAMBDA_GRID,
  bestCandidate,
  perExitCandidates,
  sharedThresholdCandidates,
  type Candidate,
  type ThresholdProblem,
} from "./threshold-solver.js";
import { accuracyWeights, costWeights, cumulativeCostFractions, equalCosts } from "./weights.js";

export interface CalibratorOptions {
  /** The rule to fit. */
  readonly rule: CalibrationRule;
  /** Per-exit costs (layer plus exit head), exit 1 first. Default: equal layers. */
  readonly costs?: readonly number[];
  /** BEEM only: restart the score at the disagreeing expert or at zero. Default "current". */
  readonly reset?: Reset;
  /** BEEM only: explicit expert weights, replacing the A or C weights. */
  readonly weights?: readonly number[];
  /**
   * "per-exit": a threshold for every exit (greedy + coordinate descent, plus all shared
   * thresholds); "shared": one threshold for all exits (exact). Default: "per-exit" for BEEM,
   * "shared" for the baselines, as in their papers.
   */
  readonly thresholds?: "per-exit" | "shared";
  /** The lambdas the per-exit solver runs at to build its candidates. Default `LAMBDA_GRID`. */
  readonly lambdaGrid?: readonly number[];
}

export interface CalibrateOptions extends CalibratorOptions {
  /** Cost parameter: J = error rate + lambda * cost. Default 0. */
  readonly lambda?: number;
}

/** A rule prepared on one calibration set: fitting at any lambda is then cheap. */
export interface Calibrator {
  readonly rule: CalibrationRule;
  fit(lambda: number): Policy;
}

export function createCalibrator(table: ExitTable, options: CalibratorOptions): Calibrator {
  const rule = checkOneOf("rule", options.rule, CALIBRATION_RULES);
  const L = table.numExits;
  if (L < 2)
    throw new BeemError(
      "INVALID_ARGUMENT",
      `Expected at least 2 exits to calibrate but the log has ${L}`,
    );
  const costs = options.costs
    ? checkNumberArray("costs", options.costs, { length: L, positive: true })
    : equalCosts(L);
  const reset =
    options.reset === undefined
      ? "current"
      : checkOneOf("reset", options.reset, ["current", "zero"]);
  const mode =
    options.thresholds === undefined
      ? rule.startsWith("beem")
        ? "per-exit"
        : "shared"
      : checkOneOf("thresholds", options.thresholds, ["per-exit", "shared"]);
  const lambdaGrid = options.lambdaGrid ?? LAMBDA_GRID;
  lambdaGrid.forEach((l, i) => checkFiniteNumber(`lambdaGrid[${i}]`, l, 0));

  const accuracies = exitAccuracies(table);
  let weights: readonly number[] | undefined;
  let weighting: "accuracy" | "cost" | "explicit" = "explicit";
  if (rule === "beem-a" || rule === "beem-c") {
    if (options.weights !== undefined) {
      weights = checkNumberArray("weights", options.weights, { length: L, min: 0 });
    } else if (rule === "beem-a") {
      weights = accuracyWeights(accuracies);
      weighting = "accuracy";
    } else {
      weights = costWeights(costs);
      weighting = "cost";
    }
  } else if (options.weights !== undefined) {
    throw new BeemError(
      "INVALID_ARGUMENT",
      `Option "weights" applies to beem-a and beem-c, not ${rule}`,
    );
  }
  const spec: ScoreSpec =
    weights !== undefined
      ? { rule: "beem", weights, reset }
      : { rule: rule as Exclude<CalibrationRule, "beem-a" | "beem-c"> };

  const problem: ThresholdProblem = {
    numSamples: table.numSamples,
    numExits: L,
    scores: scoreMatrix(table, spec),
    correct: correctMatrix(table),
    costFractions: cumulativeCostFractions(costs),
  };
  let candidates: Candidate[];
  if (rule === "final") {
    candidates = sharedThresholdCandidates(problem).slice(0, 1);
  } else if (mode === "shared") {
    candidates = sharedThresholdCandidates(problem);
  } else {
    candidates = [...perExitCandidates(problem, lambdaGrid), ...sharedThresholdCandidates(problem)];
  }

  const fitted = new Map<number, Policy>();
  return {
    rule,
    fit(lambda) {
      checkFiniteNumber("lambda", lambda, 0);
      // Runtimes fit per request (a rule and lambda chosen by the caller): fits are cached.
      const cached = fitted.get(lambda);
      if (cached !== undefined) return cached;
      const best = bestCandidate(candidates, lambda);
      const common = { version: POLICY_VERSION, numExits: L, lambda, costs } as const;
      let policy: Policy;
      if (spec.rule === "beem") {
        policy = {
          ...common,
          rule: "beem",
          weighting,
          weights: spec.weights,
          reset,
          thresholds: thresholdsFromScores("beem", best.thresholds),
        };
      } else if (spec.rule === "static") {
        const t = best.thresholds[0]!;
        policy = { ...common, rule: "static", layer: t === Infinity ? L : t };
      } else if (spec.rule === "final") {
        policy = { ...common, rule: "final" };
      } else {
        policy = {
          ...common,
          rule: spec.rule,
          thresholds: thresholdsFromScores(spec.rule, best.thresholds),
        };
      }
      const report = evaluate(policy, table);
      const n = table.numSamples;
      const result: Policy = {
        ...policy,
        calibration: {
          samples: n,
          lambda,
          objective: (best.errors + lambda * best.cost) / n,
          errorRate: best.errors / n,
          cost: best.cost / n,
          accuracy: report.accuracy,
          finalAccuracy: report.finalAccuracy,
          meanExitLayer: report.meanExitLayer,
          countedSpeedup: report.countedSpeedup,
          exitAccuracies: accuracies,
        },
      };
      fitted.set(lambda, result);
      return result;
    },
  };
}

/** Fits a rule's thresholds on a labelled calibration table at one lambda. */
export function calibrate(table: ExitTable, options: CalibrateOptions): Policy {
  return createCalibrator(table, options).fit(options.lambda ?? 0);
}
