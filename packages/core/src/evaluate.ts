// Accuracy and speed-up of a policy on logged exit outputs.
import { meanExitLayer } from "./stats.js";
import { checkNumberArray } from "./check.js";
import type { ExitTable } from "./exit-table.js";
import type { Policy } from "./policy.js";
import { replay, type Decisions } from "./replay.js";
import { cumulativeCostFractions, equalCosts } from "./weights.js";

export interface EvaluationReport {
  readonly samples: number;
  readonly numExits: number;
  readonly accuracy: number;
  /** Accuracy of the last exit alone (no early exit). */
  readonly finalAccuracy: number;
  /** Mean 1-based exit layer. */
  readonly meanExitLayer: number;
  /** L / mean exit layer, as the paper counts it. */
  readonly countedSpeedup: number;
  /** Total cost of all exits / mean cost spent, with the per-exit costs. */
  readonly costSpeedup: number;
  /** How many samples stopped at each exit, exit 1 first. */
  readonly exitCounts: readonly number[];
}

/** Summarises decisions made on a table; `costs` default to the policy's, else equal. */
export function summarizeDecisions(
  table: ExitTable,
  decisions: Decisions,
  options: { costs?: readonly number[] } = {},
): EvaluationReport {
  const L = table.numExits;
  const costs = options.costs ?? equalCosts(L);
  checkNumberArray("costs", costs, { length: L, positive: true });
  const fractions = cumulativeCostFractions(costs);
  const exitCounts = new Array<number>(L).fill(0);
  let hits = 0;
  let finalHits = 0;
  let cost = 0;
  for (let j = 0; j < table.numSamples; j++) {
    const layer = decisions.exitLayers[j]!;
    exitCounts[layer - 1]!++;
    cost += fractions[layer - 1]!;
    if (decisions.predictions[j] === table.labels[j]) hits++;
    if (table.predictions[j * L + L - 1] === table.labels[j]) finalHits++;
  }
  const n = table.numSamples;
  const meanExit = meanExitLayer(decisions.exitLayers.subarray(0, n));
  return {
    samples: n,
    numExits: L,
    accuracy: hits / n,
    finalAccuracy: finalHits / n,
    meanExitLayer: meanExit,
    countedSpeedup: L / meanExit,
    costSpeedup: n / cost,
    exitCounts,
  };
}

/** Replays the policy on the table and reports accuracy and speed-up. */
export function evaluate(policy: Policy, table: ExitTable): EvaluationReport {
  const decisions = replay(policy, table);
  return summarizeDecisions(table, decisions, policy.costs ? { costs: policy.costs } : {});
}
