// The versioned JSON policy: which rule, its weights and thresholds, and how it was fitted.
import { BeemError, describe } from "./errors.js";
import { POLICY_RULES, type PolicyRule, type Reset, type ScoreSpec } from "./rules.js";

export const POLICY_VERSION = 1;

/** How a calibration went, on the calibration set itself. */
export interface CalibrationSummary {
  readonly samples: number;
  readonly lambda: number;
  /** error rate + lambda * cost */
  readonly objective: number;
  readonly errorRate: number;
  /** Mean cost spent over the cost of all exits (1 = no saving). */
  readonly cost: number;
  readonly accuracy: number;
  readonly finalAccuracy: number;
  readonly meanExitLayer: number;
  readonly countedSpeedup: number;
  readonly exitAccuracies: readonly number[];
}

/** How a policy was certified by `calibrateRisk` (Learn-then-Test). */
export interface RiskControlSummary {
  /** The loss bound asked for. */
  readonly epsilon: number;
  /** The bound holds with probability at least 1 - delta over the calibration data. */
  readonly delta: number;
  readonly loss: "disagreement" | "error";
  /** Log lines (groups, for a grouped log) the candidate policies were tested on. */
  readonly calibrationSamples: number;
  /** Log lines (groups, for a grouped log) the path of candidate policies was fitted on. */
  readonly pathSamples: number;
  /** Set when the log's lines carry groups: how a group's losses combined, and the line counts. */
  readonly groups?: {
    readonly loss: "mean" | "max";
    readonly calibrationLines: number;
    readonly pathLines: number;
  };
  /** The policy's mean loss on the test lines. */
  readonly empiricalLoss: number;
  /** Its Hoeffding-Bentkus p-value (<= delta: certified). */
  readonly pValue: number;
  /** Policies of the path tested (the last one failed unless the path ran out). */
  readonly tested: number;
  /** The lambda the policy was fitted at on the path lines; null for the full-depth fallback. */
  readonly lambda: number | null;
}

interface PolicyCommon {
  readonly version: typeof POLICY_VERSION;
  readonly numExits: number;
  /** The cost parameter the thresholds were fitted with. */
  readonly lambda?: number;
  /** Per-exit costs (layer plus exit head), exit 1 first; equal when absent. */
  readonly costs?: readonly number[];
  readonly calibration?: CalibrationSummary;
  /** Set when the policy carries a risk guarantee (`calibrateRisk`). */
  readonly riskControl?: RiskControlSummary;
}

/** `null` thresholds mean "never stop at this exit". */
export type Threshold = number | null;

export type BeemPolicy = PolicyCommon & {
  readonly rule: "beem";
  readonly weighting: "accuracy" | "cost" | "explicit";
  readonly weights: readonly number[];
  readonly reset: Reset;
  /** Stop at exit i when S_i >= thresholds[i - 1]; L - 1 entries. */
  readonly thresholds: readonly Threshold[];
};
export type ThresholdPolicy = PolicyCommon & {
  readonly rule: "maxprob" | "entropy" | "patience";
  /**
   * L - 1 entries. maxprob: stop when confidence >= t; entropy: stop when entropy (nats) <= t;
   * patience: stop when the prediction has not changed for t exits in a row.
   */
  readonly thresholds: readonly Threshold[];
};
export type StaticPolicy = PolicyCommon & { readonly rule: "static"; readonly layer: number };
export type FinalPolicy = PolicyCommon & { readonly rule: "final" };

export type Policy = BeemPolicy | ThresholdPolicy | StaticPolicy | FinalPolicy;

/** What the scorer of a policy needs. */
export function scoreSpecOf(policy: Policy): ScoreSpec {
  return policy.rule === "beem"
    ? { rule: "beem", weights: policy.weights, reset: policy.reset }
    : { rule: policy.rule };
}

/** The policy's thresholds in score units (see rules.ts), +Infinity for "never". */
export function scoreThresholds(policy: Policy): Float64Array {
  const out = new Float64Array(policy.numExits - 1);
  switch (policy.rule) {
    case "final":
      out.fill(Infinity);
      break;
    case "static":
      out.fill(policy.layer);
      break;
    case "entropy":
      policy.thresholds.forEach((t, i) => (out[i] = t === null ? Infinity : -t));
      break;
    default:
      policy.thresholds.forEach((t, i) => (out[i] = t ?? Infinity));
  }
  return out;
}

/** Policy thresholds from score units (the inverse of `scoreThresholds`). */
export function thresholdsFromScores(rule: PolicyRule, scores: ArrayLike<number>): Threshold[] {
  return Array.from(scores, (s) => {
    if (s === Infinity) return null;
    return rule === "entropy" ? (s === 0 ? 0 : -s) : s;
  });
}

/** JSON text of a policy (thresholds of "never" are written as null). */
export function serializePolicy(policy: Policy): string {
  return JSON.stringify(policy, null, 2) + "\n";
}

const COMMON_KEYS = [
  "version",
  "rule",
  "numExits",
  "lambda",
  "costs",
  "calibration",
  "riskControl",
];
const RULE_KEYS: Record<PolicyRule, readonly string[]> = {
  beem: ["weighting", "weights", "reset", "thresholds"],
  maxprob: ["thresholds"],
  entropy: ["thresholds"],
  patience: ["thresholds"],
  static: ["layer"],
  final: [],
};

/**
 * Checks a parsed JSON value and returns it as a policy. Errors name `source` and the field:
 * INVALID_POLICY, or UNSUPPORTED_POLICY_VERSION for another version.
 */
export function parsePolicy(value: unknown, options: { source?: string } = {}): Policy {
  const source = options.source ?? "policy";
  const fail = (field: string, what: string, got: unknown): never => {
    throw new BeemError(
      "INVALID_POLICY",
      `${source}: field "${field}" must be ${what} but is ${describe(got)}`,
    );
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BeemError("INVALID_POLICY", `${source}: a policy must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  if (record.version !== POLICY_VERSION) {
    throw new BeemError(
      "UNSUPPORTED_POLICY_VERSION",
      `${source}: policy version ${describe(record.version)} is not supported (this library reads version ${POLICY_VERSION})`,
    );
  }
  const rule = record.rule;
  if (typeof rule !== "string" || !(POLICY_RULES as readonly string[]).includes(rule)) {
    fail("rule", `one of ${POLICY_RULES.join(", ")}`, rule);
  }
  const ruleName = rule as PolicyRule;
  const allowed = new Set([...COMMON_KEYS, ...RULE_KEYS[ruleName]]);
  for (const key of Object.keys(record)) {
    if (!allowed.has(key)) {
      throw new BeemError(
        "INVALID_POLICY",
        `${source}: field "${key}" is not part of a "${ruleName}" policy (allowed: ${[...allowed].join(", ")})`,
      );
    }
  }
  const numberArray = (field: string, min: number, allowNull: boolean): (number | null)[] => {
    const v = record[field];
    if (!Array.isArray(v)) return fail(field, "an array", v);
    return v.map((x, i) => {
      if (x === null && allowNull) return null;
      if (typeof x !== "number" || !Number.isFinite(x) || x < min) {
        return fail(`${field}[${i}]`, `a finite number >= ${min}${allowNull ? " or null" : ""}`, x);
      }
      return x;
    });
  };

  const thresholdsFrom = (): (number | null)[] => numberArray("thresholds", -Infinity, true);
  let numExits: number;
  let specific: Record<string, unknown>;
  switch (ruleName) {
    case "beem": {
      const weights = numberArray("weights", 0, false) as number[];
      if (weights.length < 1) fail("weights", "a non-empty array", record.weights);
      const thresholds = thresholdsFrom();
      if (thresholds.length !== weights.length - 1) {
        fail(
          "thresholds",
          `an array of ${weights.length - 1} entries (one fewer than weights)`,
          record.thresholds,
        );
      }
      const reset = record.reset ?? "current";
      if (reset !== "current" && reset !== "zero") fail("reset", `"current" or "zero"`, reset);
      const weighting = record.weighting ?? "explicit";
      if (weighting !== "accuracy" && weighting !== "cost" && weighting !== "explicit") {
        fail("weighting", `"accuracy", "cost" or "explicit"`, weighting);
      }
      numExits = weights.length;
      specific = { weighting, weights, reset, thresholds };
      break;
    }
    case "maxprob":
    case "entropy":
    case "patience": {
      const thresholds = thresholdsFrom();
      numExits = thresholds.length + 1;
      specific = { thresholds };
      break;
    }
    case "static": {
      const layer = record.layer;
      if (typeof layer !== "number" || !Number.isInteger(layer) || layer < 1) {
        fail("layer", "an integer >= 1", layer);
      }
      if (typeof record.numExits !== "number") fail("numExits", "an integer >= 1", record.numExits);
      numExits = record.numExits as number;
      if ((layer as number) > numExits) fail("layer", `an integer in [1, ${numExits}]`, layer);
      specific = { layer };
      break;
    }
    case "final": {
      if (typeof record.numExits !== "number") fail("numExits", "an integer >= 1", record.numExits);
      numExits = record.numExits as number;
      specific = {};
      break;
    }
  }
  if (record.numExits !== undefined && record.numExits !== numExits) {
    fail("numExits", `${numExits} (as the other fields imply)`, record.numExits);
  }
  if (!Number.isInteger(numExits) || numExits < 1) fail("numExits", "an integer >= 1", numExits);
  const common: Record<string, unknown> = { version: POLICY_VERSION, rule: ruleName, numExits };
  if (record.lambda !== undefined) {
    const lambda = record.lambda;
    if (typeof lambda !== "number" || !Number.isFinite(lambda) || lambda < 0) {
      fail("lambda", "a finite number >= 0", lambda);
    }
    common.lambda = lambda;
  }
  if (record.costs !== undefined) {
    const costs = numberArray("costs", 0, false) as number[];
    if (costs.length !== numExits) fail("costs", `an array of ${numExits} costs`, record.costs);
    costs.forEach((c, i) => c > 0 || fail(`costs[${i}]`, "a number > 0", c));
    common.costs = costs;
  }
  if (record.calibration !== undefined) {
    if (typeof record.calibration !== "object" || record.calibration === null) {
      fail("calibration", "an object", record.calibration);
    }
    common.calibration = record.calibration;
  }
  if (record.riskControl !== undefined) {
    const r = record.riskControl as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null) fail("riskControl", "an object", r);
    for (const key of ["epsilon", "delta"] as const) {
      const v = r![key];
      if (typeof v !== "number" || !(v > 0 && v < 1))
        fail(`riskControl.${key}`, "a number in (0, 1)", v);
    }
    if (r!.loss !== "disagreement" && r!.loss !== "error")
      fail("riskControl.loss", `"disagreement" or "error"`, r!.loss);
    common.riskControl = r;
  }
  return { ...common, ...specific } as unknown as Policy;
}

/** Full depth: every layer runs, the last exit answers. */
export function fullDepthPolicy(numExits: number): Policy {
  return { version: POLICY_VERSION, rule: "final", numExits };
}

/** Throws INVALID_ARGUMENT when a policy is for another number of exits than the model has. */
export function checkPolicyExits(policy: Policy, numExits: number): void {
  if (policy.numExits !== numExits) {
    throw new BeemError(
      "INVALID_ARGUMENT",
      `The policy is for ${policy.numExits} exits but the model has ${numExits}`,
    );
  }
}
