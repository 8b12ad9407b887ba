// Replays a policy over logged exit outputs, as the step API would decide, without the model.
import { scoreMatrix, type ExitTable } from "./exit-table.js";
import { scoreSpecOf, scoreThresholds, type Policy } from "./policy.js";
import { BeemError } from "./errors.js";

/** Per-sample decisions: the 1-based exit each sample stops at and its answer there. */
export interface Decisions {
  readonly exitLayers: Int32Array;
  readonly predictions: Int32Array;
}

/** 0-based exit of every sample: the first i < L-1 whose score reaches thresholds[i], else L-1. */
export function exitIndices(
  scores: Float64Array,
  thresholds: ArrayLike<number>,
  numSamples: number,
  numExits: number,
): Int32Array {
  const width = numExits - 1;
  const out = new Int32Array(numSamples);
  for (let j = 0; j < numSamples; j++) {
    let exit = width;
    for (let i = 0; i < width; i++) {
      if (scores[j * width + i]! >= thresholds[i]!) {
        exit = i;
        break;
      }
    }
    out[j] = exit;
  }
  return out;
}

export function checkPolicyFits(policy: Policy, table: ExitTable): void {
  if (policy.numExits !== table.numExits) {
    throw new BeemError(
      "INVALID_ARGUMENT",
      `The policy is for ${policy.numExits} exits but the log has ${table.numExits}`,
    );
  }
}

export function replay(policy: Policy, table: ExitTable): Decisions {
  checkPolicyFits(policy, table);
  const scores = scoreMatrix(table, scoreSpecOf(policy));
  const exits = exitIndices(scores, scoreThresholds(policy), table.numSamples, table.numExits);
  const predictions = new Int32Array(table.numSamples);
  const exitLayers = new Int32Array(table.numSamples);
  exits.forEach((e, j) => {
    exitLayers[j] = e + 1;
    predictions[j] = table.predictions[j * table.numExits + e]!;
  });
  return { exitLayers, predictions };
}
