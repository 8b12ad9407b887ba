// Thresholds with a guarantee: the fastest policy of a rule whose loss is at most epsilon with
// probability at least 1 - delta over the draw of the calibration data, by Learn-then-Test
// (Angelopoulos, Bates, Candès, Jordan, Lei, 2021) with Hoeffding-Bentkus p-values and
// fixed-sequence testing, as CALM (Schuster et al., 2022) calibrates early-exit decoders.
//
// The log is split in two, deterministically and without looking at labels (evenly spaced
// lines: every other line, at most PATH_LINES of them): the first part builds an ordered path of
// policies of the rule, fitted at a fixed grid of lambdas and ordered from most conservative
// (highest cost) to fastest; the rest of the lines test them in that order, each the null
// hypothesis "this policy's loss exceeds epsilon", stopping at the first that cannot be
// rejected at level delta. The path does not depend on the test lines,
// so the fixed-sequence procedure controls the family-wise error at delta: the chosen policy's
// expected loss on new data exchangeable with the log exceeds epsilon with probability at most
// delta. Full depth (loss 0 by definition) is the fallback.
//
// Lines that are not independent carry a group (a caption log has one line per token, and one
// image's tokens are correlated). Then the group is the sample: groups, not lines, are split
// between path and test, each test group contributes one loss (by default the mean of its lines'
// losses; `groupLoss`), and the p-values count groups. Groups drawn independently give i.i.d.
// group losses in [0, 1], which is all Hoeffding-Bentkus needs; counting a group's lines as
// separate samples would overstate the evidence and break the guarantee.
import { checkFiniteNumber, checkOneOf, checkOpenUnit } from "./check.js";
import { createCalibrator, type CalibratorOptions } from "./calibrate.js";
import { scoreMatrix, type ExitTable } from "./exit-table.js";
import { evaluate } from "./evaluate.js";
import {
  fullDepthPolicy,
  scoreSpecOf,
  scoreThresholds,
  type Policy,
  type RiskControlSummary,
} from "./policy.js";
import { checkPolicyFits, exitIndices } from "./replay.js";

export const RISK_LOSSES = ["disagreement", "error"] as const;
export const GROUP_LOSSES = ["mean", "max"] as const;

/**
 * How a group's line losses make its one loss. "mean" (default): the fraction of its lines
 * lost, so the bound is on the expected fraction of an image's tokens that differ from full
 * depth, the same quantity as the per-token loss with every image weighted equally. "max": 1
 * when any line is lost, a bound on the fraction of images with any differing token (far
 * stricter; few early exits pass it on long groups).
 */
export type GroupLoss = (typeof GROUP_LOSSES)[number];

/**
 * "disagreement": the policy's answer differs from the last exit's (needs no labels; for
 * captions, the per-token disagreement with full depth). "error": the last exit is right and
 * the policy is wrong (its mean bounds the accuracy lost against full depth from above).
 */
export type RiskLoss = (typeof RISK_LOSSES)[number];

/** Most log lines the path is fitted on; every other line tests (the more, the tighter). */
export const PATH_LINES = 10_000;

/** Lambdas the path of candidate policies is fitted at, most conservative first. */
export const RISK_PATH_LAMBDAS: readonly number[] = [
  0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1,
  1.5, 2, 3, 5,
];

export interface RiskControlOptions extends CalibratorOptions {
  /** epsilon: the largest acceptable loss, in (0, 1). */
  readonly maxLoss: number;
  /** The guarantee fails with probability at most delta, in (0, 1). Default 0.1. */
  readonly delta?: number;
  /** Default "disagreement". */
  readonly loss?: RiskLoss;
  /** For a log whose lines carry groups: how a group's losses combine. Default "mean". */
  readonly groupLoss?: GroupLoss;
  /** Lambdas of the path. Default `RISK_PATH_LAMBDAS`. */
  readonly pathLambdas?: readonly number[];
}

export interface RiskControlResult {
  /** The fastest policy certified, or full depth when none is; `riskControl` says how. */
  readonly policy: Policy;
  /** Set when no policy of the path could be certified: why, and how many lines would do. */
  readonly warning?: string;
}

/** Fits the fastest policy of `options.rule` whose loss is at most maxLoss w.p. 1 - delta. */
export function calibrateRisk(table: ExitTable, options: RiskControlOptions): RiskControlResult {
  const epsilon = checkOpenUnit("maxLoss", options.maxLoss);
  const delta = checkOpenUnit("delta", options.delta ?? 0.1);
  const loss = checkOneOf("loss", options.loss ?? "disagreement", RISK_LOSSES);
  const groupLoss = checkOneOf("groupLoss", options.groupLoss ?? "mean", GROUP_LOSSES);
  const lambdas = options.pathLambdas ?? RISK_PATH_LAMBDAS;
  lambdas.forEach((l, i) => checkFiniteNumber(`pathLambdas[${i}]`, l, 0));
  // The unit of sampling: the line, or its group.
  const unitOf = (j: number) => table.groups?.[j] ?? j;
  const n = countUnits(table);
  const stride = Math.max(2, Math.ceil(n / PATH_LINES));
  const pathPart = subTable(table, (j) => unitOf(j) % stride === 0);
  const testPart = subTable(table, (j) => unitOf(j) % stride !== 0);
  const testUnits = countUnits(testPart);
  const L = table.numExits;
  const needed = neededSamples(epsilon, delta);
  const unit = table.groups === undefined ? "lines" : "groups";

  // The path: distinct policies, highest cost on the path part first. For the disagreement
  // loss the path lines are labelled with the last exit's answer (CALM's calibration target),
  // so that the most conservative policies agree with full depth, not merely match its accuracy.
  const fitOn = loss === "disagreement" ? relabelWithFinal(pathPart) : pathPart;
  const calibrator = createCalibrator(fitOn, { lambdaGrid: lambdas, ...options });
  const seen = new Set<string>();
  const path: { policy: Policy; cost: number; lambda: number }[] = [];
  for (const lambda of lambdas) {
    const policy = calibrator.fit(lambda);
    const key = JSON.stringify({ ...policy, lambda: 0, calibration: undefined });
    if (seen.has(key)) continue;
    seen.add(key);
    path.push({ policy, cost: policy.calibration!.cost, lambda });
  }
  path.sort((a, b) => b.cost - a.cost || a.lambda - b.lambda);

  const base = {
    epsilon,
    delta,
    loss,
    calibrationSamples: testUnits,
    pathSamples: countUnits(pathPart),
    ...(table.groups !== undefined && {
      groups: {
        loss: groupLoss,
        calibrationLines: testPart.numSamples,
        pathLines: pathPart.numSamples,
      },
    }),
  };
  let chosen: { policy: Policy; summary: RiskControlSummary } | undefined;
  let tested = 0;
  const losses = createLossMeter(testPart, loss, { groupLoss });
  for (const candidate of path) {
    const empiricalLoss = losses(candidate.policy);
    const pValue = hoeffdingBentkusPValue(empiricalLoss, testUnits, epsilon);
    tested++;
    if (pValue > delta) break;
    chosen = {
      policy: candidate.policy,
      summary: { ...base, empiricalLoss, pValue, tested, lambda: candidate.lambda },
    };
  }
  if (chosen === undefined) {
    const full = fullDepthPolicy(L);
    const reason =
      testUnits < needed
        ? `the log has ${n} ${unit}, of which ${testUnits} test the policies; at least ${needed} test ${unit} (${2 * needed} in a log this size) are needed for any policy to pass at maxLoss ${epsilon}, delta ${delta}`
        : `no ${options.rule} policy has a loss low enough to pass at maxLoss ${epsilon}, delta ${delta} on ${testUnits} test ${unit}`;
    return {
      policy: {
        ...full,
        riskControl: { ...base, empiricalLoss: 0, pValue: 1, tested, lambda: null },
      },
      warning: `Running at full depth: ${reason}`,
    };
  }
  // Accuracy and exits as realised on the test lines (error rate, cost and objective stay those
  // of the path lines the thresholds were fitted on).
  const report = evaluate(chosen.policy, testPart);
  return {
    policy: {
      ...chosen.policy,
      calibration: {
        ...chosen.policy.calibration!,
        accuracy: report.accuracy,
        finalAccuracy: report.finalAccuracy,
        meanExitLayer: report.meanExitLayer,
        countedSpeedup: report.countedSpeedup,
        samples: testPart.numSamples,
      },
      riskControl: chosen.summary,
    },
  };
}

/** Mean per-line loss of a policy's decisions on a table (per group when lines carry groups). */
export function meanLoss(
  policy: Policy,
  table: ExitTable,
  loss: RiskLoss,
  options: { groupLoss?: GroupLoss } = {},
): number {
  return createLossMeter(table, loss, options)(policy);
}

/**
 * Mean loss of policies on one table; the rules' scores are computed once per scoring rule
 * (the policies of a path share it). When the table's lines carry groups, the mean is over
 * groups of each group's loss (`groupLoss`, default "mean").
 */
export function createLossMeter(
  table: ExitTable,
  loss: RiskLoss,
  options: { groupLoss?: GroupLoss } = {},
): (policy: Policy) => number {
  const groupLoss = options.groupLoss ?? "mean";
  const groups = table.groups;
  const numGroups = countUnits(table);
  const groupSizes = new Float64Array(numGroups);
  if (groups !== undefined) for (const g of groups) groupSizes[g]!++;
  const L = table.numExits;
  const n = table.numSamples;
  // Per line: 1 where answering with exit i loses.
  const lost = new Uint8Array(n * L);
  for (let j = 0; j < n; j++) {
    const final = table.predictions[j * L + L - 1]!;
    for (let i = 0; i < L; i++) {
      const answer = table.predictions[j * L + i]!;
      lost[j * L + i] =
        loss === "disagreement"
          ? Number(answer !== final)
          : Number(answer !== table.labels[j] && final === table.labels[j]);
    }
  }
  const scores = new Map<string, Float64Array>();
  return (policy) => {
    checkPolicyFits(policy, table);
    const spec = scoreSpecOf(policy);
    const key = JSON.stringify(spec);
    let s = scores.get(key);
    if (s === undefined) scores.set(key, (s = scoreMatrix(table, spec)));
    const exits = exitIndices(s, scoreThresholds(policy), n, L);
    if (groups === undefined) {
      let total = 0;
      for (let j = 0; j < n; j++) total += lost[j * L + exits[j]!]!;
      return n === 0 ? 0 : total / n;
    }
    const perGroup = new Float64Array(numGroups);
    for (let j = 0; j < n; j++) {
      const g = groups[j]!;
      const l = lost[j * L + exits[j]!]!;
      perGroup[g] = groupLoss === "max" ? Math.max(perGroup[g]!, l) : perGroup[g]! + l;
    }
    let total = 0;
    for (let g = 0; g < numGroups; g++)
      total += groupLoss === "max" ? perGroup[g]! : perGroup[g]! / groupSizes[g]!;
    return numGroups === 0 ? 0 : total / numGroups;
  };
}

/**
 * Hoeffding-Bentkus p-value of the null hypothesis "the expected loss exceeds epsilon", for a
 * loss in [0, 1] with empirical mean `risk` over n samples (Learn-then-Test, proposition 3):
 * min(exp(-n h1(min(risk, epsilon), epsilon)), e * P(Binomial(n, epsilon) <= ceil(n risk))).
 */
export function hoeffdingBentkusPValue(risk: number, n: number, epsilon: number): number {
  if (n <= 0) return 1;
  const hoeffding = Math.exp(-n * klBernoulli(Math.min(risk, epsilon), epsilon));
  const bentkus = Math.E * binomialCdf(Math.ceil(n * risk - 1e-9), n, epsilon);
  return Math.min(1, hoeffding, bentkus);
}

/** Test lines needed for a policy with no loss at all to pass: (1 - epsilon)^n <= delta. */
export function neededSamples(epsilon: number, delta: number): number {
  return Math.ceil(Math.log(delta) / Math.log(1 - epsilon));
}

/** h1(a, b) = a ln(a / b) + (1 - a) ln((1 - a) / (1 - b)), with 0 ln 0 = 0. */
function klBernoulli(a: number, b: number): number {
  const term = (x: number, y: number) => (x === 0 ? 0 : x * Math.log(x / y));
  return term(a, b) + term(1 - a, 1 - b);
}

/** P(X <= k) for X ~ Binomial(n, p), summed in log space. */
function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  const lnN = logFactorial(n);
  let max = -Infinity;
  const terms: number[] = [];
  for (let i = 0; i <= k; i++) {
    const t = lnN - logFactorial(i) - logFactorial(n - i) + i * logP + (n - i) * logQ;
    terms.push(t);
    if (t > max) max = t;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return Math.min(1, Math.exp(max + Math.log(sum)));
}

const FACTORIALS: number[] = [0];
/** ln(n!) exactly by summation up to 10,000 (cached), Stirling's series beyond. */
function logFactorial(n: number): number {
  if (n < 10_000) {
    for (let i = FACTORIALS.length; i <= n; i++) FACTORIALS[i] = FACTORIALS[i - 1]! + Math.log(i);
    return FACTORIALS[n]!;
  }
  return (
    n * Math.log(n) -
    n +
    0.5 * Math.log(2 * Math.PI * n) +
    1 / (12 * n) -
    1 / (360 * n ** 3) +
    1 / (1260 * n ** 5)
  );
}

/** The table with each line's label replaced by the last exit's prediction. */
function relabelWithFinal(table: ExitTable): ExitTable {
  const L = table.numExits;
  return {
    ...table,
    labels: Int32Array.from(
      { length: table.numSamples },
      (_, j) => table.predictions[j * L + L - 1]!,
    ),
  };
}

/** Independent samples of a table: its groups when lines carry them, else its lines. */
function countUnits(table: ExitTable): number {
  if (table.groups === undefined) return table.numSamples;
  let max = -1;
  for (const g of table.groups) if (g > max) max = g;
  return max + 1;
}

/** The rows of a table whose index passes `keep`, in order (groups renumbered densely). */
function subTable(table: ExitTable, keep: (j: number) => boolean): ExitTable {
  const L = table.numExits;
  const rows: number[] = [];
  for (let j = 0; j < table.numSamples; j++) if (keep(j)) rows.push(j);
  const pick = <A extends Int32Array | Float64Array>(source: A, make: (n: number) => A): A => {
    const out = make(rows.length * L);
    rows.forEach((j, r) => out.set(source.subarray(j * L, (j + 1) * L), r * L));
    return out;
  };
  return {
    numSamples: rows.length,
    numExits: L,
    numClasses: table.numClasses,
    labels: Int32Array.from(rows, (j) => table.labels[j]!),
    predictions: pick(table.predictions, (n) => new Int32Array(n)),
    confidences: pick(table.confidences, (n) => new Float64Array(n)),
    entropies: pick(table.entropies, (n) => new Float64Array(n)),
    ...(table.groups !== undefined && { groups: renumber(rows.map((j) => table.groups![j]!)) }),
  };
}

/** Group indices 0, 1, ... in order of first appearance. */
function renumber(groups: readonly number[]): Int32Array {
  const ids = new Map<number, number>();
  return Int32Array.from(groups, (g) => {
    let id = ids.get(g);
    if (id === undefined) ids.set(g, (id = ids.size));
    return id;
  });
}
