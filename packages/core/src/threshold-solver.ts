// Fits exit thresholds minimising  J = error rate + lambda * cost  on calibration data.
//
// Every solution the solver can return is a "candidate": thresholds with their error count and
// cost on the calibration set, both independent of lambda. `fit(lambda)` returns the candidate
// of least J (ties: lower cost, then earlier candidate). Because the candidate set does not
// depend on lambda, this is an exact minimum over a fixed set, so (a) cost never rises as
// lambda grows, (b) the same data gives the same thresholds, and (c) lambda = 0 is never less
// accurate than the last exit, which is itself a candidate (all thresholds at infinity).

/** The calibration problem, in score units (stop at exit i when score >= threshold). */
export interface ThresholdProblem {
  readonly numSamples: number;
  readonly numExits: number;
  /** n x (L-1) scores, row-major. */
  readonly scores: Float64Array;
  /** n x L, 1 where exit i's answer is right. */
  readonly correct: Uint8Array;
  /** Cost of stopping at exit i over the cost of all exits; last entry 1. */
  readonly costFractions: Float64Array;
}

export interface Candidate {
  readonly thresholds: Float64Array;
  /** Wrong answers on the calibration set. */
  readonly errors: number;
  /** Sum over samples of the cost fraction spent. */
  readonly cost: number;
}

/**
 * The lambdas at which the per-exit solver is run to build its candidates: 0 and
 * 1, 1.5, 2, 3, 5, 7 per decade from 1e-4 to 7, then 10.
 */
export const LAMBDA_GRID: readonly number[] = [
  0,
  ...[-4, -3, -2, -1, 0].flatMap((e) =>
    [1, 1.5, 2, 3, 5, 7].map((m) => Number((m * 10 ** e).toPrecision(3))),
  ),
  10,
];

const EPS = 1e-9;

/** Error count and cost of thresholds on the problem. */
export function scoreCandidate(p: ThresholdProblem, thresholds: Float64Array): Candidate {
  const L = p.numExits;
  const width = L - 1;
  let errors = 0;
  let cost = 0;
  for (let j = 0; j < p.numSamples; j++) {
    let exit = width;
    for (let i = 0; i < width; i++) {
      if (p.scores[j * width + i]! >= thresholds[i]!) {
        exit = i;
        break;
      }
    }
    errors += 1 - p.correct[j * L + exit]!;
    cost += p.costFractions[exit]!;
  }
  return { thresholds, errors, cost };
}

/** The candidate with the least errors + lambda * cost (ties: lower cost, then first). */
export function bestCandidate(candidates: readonly Candidate[], lambda: number): Candidate {
  let best = candidates[0]!;
  let bestJ = best.errors + lambda * best.cost;
  for (const c of candidates) {
    const j = c.errors + lambda * c.cost;
    if (j < bestJ - EPS || (j <= bestJ + EPS && c.cost < best.cost - EPS)) {
      best = c;
      bestJ = j;
    }
  }
  return best;
}

/**
 * One threshold shared by all exits: every value at which some sample's exit changes, swept
 * from +infinity down in one pass. Exact over all shared thresholds.
 */
export function sharedThresholdCandidates(p: ThresholdProblem): Candidate[] {
  const L = p.numExits;
  const width = L - 1;
  // As the shared threshold falls, a sample's exit moves from L to the positions where its
  // score sets a new running maximum, last record first.
  const values: number[] = [];
  const samples: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  let errors = 0;
  let cost = 0;
  for (let j = 0; j < p.numSamples; j++) {
    errors += 1 - p.correct[j * L + width]!;
    cost += 1;
    const recordAt: number[] = [];
    let max = -Infinity;
    for (let i = 0; i < width; i++) {
      const s = p.scores[j * width + i]!;
      if (s > max) {
        max = s;
        recordAt.push(i);
      }
    }
    let current = width;
    for (let k = recordAt.length - 1; k >= 0; k--) {
      const i = recordAt[k]!;
      values.push(p.scores[j * width + i]!);
      samples.push(j);
      from.push(current);
      to.push(i);
      current = i;
    }
  }
  const order = Array.from(values.keys()).sort((a, b) => values[b]! - values[a]! || a - b);
  const candidates: Candidate[] = [
    { thresholds: new Float64Array(width).fill(Infinity), errors, cost },
  ];
  for (let k = 0; k < order.length; k++) {
    const e = order[k]!;
    const j = samples[e]!;
    errors += p.correct[j * L + from[e]!]! - p.correct[j * L + to[e]!]!;
    cost += p.costFractions[to[e]!]! - p.costFractions[from[e]!]!;
    const next = order[k + 1];
    if (next === undefined || values[next] !== values[e]) {
      candidates.push({ thresholds: new Float64Array(width).fill(values[e]!), errors, cost });
    }
  }
  return candidates;
}

/** Per-exit thresholds: greedy then coordinate descent at each lambda of the grid. */
export function perExitCandidates(
  p: ThresholdProblem,
  lambdas: readonly number[] = LAMBDA_GRID,
): Candidate[] {
  const width = p.numExits - 1;
  const orders = exitOrders(p);
  const never = new Float64Array(width).fill(Infinity);
  const candidates: Candidate[] = [scoreCandidate(p, never)];
  let previous: Float64Array = never;
  for (const lambda of lambdas) {
    const fromScratch = scoreCandidate(p, coordinateDescent(p, orders, lambda, never));
    const warm = scoreCandidate(p, coordinateDescent(p, orders, lambda, previous));
    const best = bestCandidate([fromScratch, warm], lambda);
    candidates.push(best);
    previous = best.thresholds;
  }
  return candidates;
}

/** For each exit, sample indices by score, highest first (ties by index). */
function exitOrders(p: ThresholdProblem): Int32Array[] {
  const width = p.numExits - 1;
  return Array.from({ length: width }, (_, i) => {
    const order = Int32Array.from({ length: p.numSamples }, (_, j) => j);
    return order.sort((a, b) => p.scores[b * width + i]! - p.scores[a * width + i]! || a - b);
  });
}

/**
 * Starting from `start`, repeatedly re-fits each exit's threshold, shallowest first, given
 * the others, until no change lowers (J, then cost). From all-infinite thresholds the first
 * pass is the greedy solver (later exits are still closed when an exit is fitted).
 */
function coordinateDescent(
  p: ThresholdProblem,
  orders: readonly Int32Array[],
  lambda: number,
  start: Float64Array,
): Float64Array {
  const L = p.numExits;
  const width = L - 1;
  const alpha = Float64Array.from(start);
  const exitAt = new Int32Array(p.numSamples);
  const nextExit = (j: number, after: number): number => {
    for (let i = after + 1; i < width; i++) if (p.scores[j * width + i]! >= alpha[i]!) return i;
    return width;
  };
  for (let j = 0; j < p.numSamples; j++) exitAt[j] = nextExit(j, -1);
  const loss = (j: number, exit: number): number =>
    1 - p.correct[j * L + exit]! + lambda * p.costFractions[exit]!;

  for (let pass = 0; pass < 50; pass++) {
    let changed = false;
    for (let t = 0; t < width; t++) {
      // Among samples reaching exit t, choose the cut in score order that minimises J.
      const order = orders[t]!;
      let prefixJ = 0;
      let prefixCost = 0;
      let bestJ = 0;
      let bestCost = 0;
      let bestAlpha = Infinity;
      let currentJ = 0;
      let currentCost = 0;
      for (let k = 0; k < order.length; k++) {
        const j = order[k]!;
        const e = exitAt[j]!;
        if (e >= t) {
          const s = p.scores[j * width + t]!;
          const rest = e > t ? e : nextExit(j, t);
          prefixJ += loss(j, t) - loss(j, rest);
          prefixCost += p.costFractions[t]! - p.costFractions[rest]!;
          if (s >= alpha[t]!) {
            currentJ = prefixJ;
            currentCost = prefixCost;
          }
        }
        const following = order[k + 1];
        const groupEnds =
          following === undefined || p.scores[following * width + t] !== p.scores[j * width + t];
        if (
          groupEnds &&
          (prefixJ < bestJ - EPS || (prefixJ <= bestJ + EPS && prefixCost < bestCost - EPS))
        ) {
          bestJ = prefixJ;
          bestCost = prefixCost;
          bestAlpha = p.scores[j * width + t]!;
        }
      }
      const better =
        bestJ < currentJ - EPS || (bestJ <= currentJ + EPS && bestCost < currentCost - EPS);
      if (better && bestAlpha !== alpha[t]) {
        alpha[t] = bestAlpha;
        changed = true;
        for (let j = 0; j < p.numSamples; j++) {
          if (exitAt[j]! >= t) {
            exitAt[j] =
              p.scores[j * width + t]! >= bestAlpha
                ? t
                : exitAt[j]! > t
                  ? exitAt[j]!
                  : nextExit(j, t);
          }
        }
      }
    }
    if (!changed) break;
  }
  return alpha;
}
