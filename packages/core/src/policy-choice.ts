// What a runtime decides with: a given policy, a rule fitted at a lambda, full depth, or its
// default; the same choice for every task package.
import { BeemError } from "./errors.js";
import { checkFiniteNumber, checkOneOf, checkOpenUnit } from "./check.js";
import { checkPolicyExits, fullDepthPolicy, type Policy } from "./policy.js";
import { CALIBRATION_RULES, unalias, type CalibrationRule } from "./rules.js";

export interface PolicyChoice {
  /** Decide with this policy. */
  readonly policy?: Policy;
  /** Fit this rule (at `lambda`) on the runtime's calibration data. */
  readonly rule?: CalibrationRule;
  /** Cost parameter for `rule`, default 0; alone it means BEEM-A at this lambda. */
  readonly lambda?: number;
  /** Run every layer. */
  readonly full?: boolean;
  /**
   * Instead of `lambda`: the fastest policy of `rule` whose loss (disagreement with the last
   * exit) is at most this, with probability 1 - `delta` (`calibrateRisk`). In (0, 1).
   */
  readonly maxLoss?: number;
  /** With `maxLoss`: the probability the bound may fail. In (0, 1); default 0.1. */
  readonly delta?: number;
}

/** What `fitRisk` is asked for. */
export interface RiskChoice {
  readonly maxLoss: number;
  readonly delta?: number;
}

export interface PolicyContext {
  readonly numExits: number;
  readonly defaultPolicy: Policy;
  /** Fits `rule` at `lambda` on the runtime's calibration data. */
  fit(rule: CalibrationRule, lambda: number): Policy | Promise<Policy>;
  /** Fits `rule` with a risk guarantee on the runtime's calibration data (`calibrateRisk`). */
  fitRisk?(rule: CalibrationRule, risk: RiskChoice): Policy | Promise<Policy>;
}

/** The policy for a choice, checked against the model's number of exits. */
export async function choosePolicy(choice: PolicyChoice, context: PolicyContext): Promise<Policy> {
  if (choice.full === true) return fullDepthPolicy(context.numExits);
  const risk = choice.maxLoss !== undefined || choice.delta !== undefined;
  const fitting = choice.rule !== undefined || choice.lambda !== undefined || risk;
  if (fitting && choice.policy !== undefined) {
    throw new BeemError(
      "INVALID_ARGUMENT",
      'Give either "policy" or "rule"/"lambda"/"maxLoss", not both',
    );
  }
  if (choice.lambda !== undefined && choice.maxLoss !== undefined)
    throw new BeemError("INVALID_ARGUMENT", 'Give either "lambda" or "maxLoss", not both');
  if (choice.delta !== undefined && choice.maxLoss === undefined)
    throw new BeemError("INVALID_ARGUMENT", '"delta" goes with "maxLoss"');
  let policy: Policy;
  if (fitting) {
    const rule = checkOneOf("rule", unalias(choice.rule ?? "beem-a"), CALIBRATION_RULES);
    if (risk) {
      if (context.fitRisk === undefined)
        throw new BeemError("INVALID_ARGUMENT", "This runtime cannot fit policies with maxLoss");
      policy = await context.fitRisk(rule, {
        maxLoss: checkOpenUnit("maxLoss", choice.maxLoss),
        ...(choice.delta !== undefined && { delta: checkOpenUnit("delta", choice.delta) }),
      });
    } else policy = await context.fit(rule, checkFiniteNumber("lambda", choice.lambda ?? 0, 0));
  } else {
    policy = choice.policy ?? context.defaultPolicy;
  }
  checkPolicyExits(policy, context.numExits);
  return policy;
}

/**
 * Per-exit costs for calibration when every input also pays a fixed cost before exit 1
 * (tokenisation, embeddings, an image encoder): it is folded into exit 1.
 */
export function foldFixedCost(exits: readonly number[], fixed: number): number[] {
  return exits.map((c, i) => (i === 0 ? c + fixed : c));
}
