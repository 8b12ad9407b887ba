// What a runtime decides with: a given policy, a rule fitted at a lambda, full depth, or its
// default; the same choice for every task package.
import { BeemError } from "./errors.js";
import { checkFiniteNumber } from "./check.js";
import type { Policy } from "./policy.js";
import { CALIBRATION_RULES, type CalibrationRule } from "./rules.js";

export interface PolicyChoice {
  /** Decide with this policy. */
  readonly policy?: Policy;
  /** Fit this rule (at `lambda`) on the runtime's calibration data. */
  readonly rule?: CalibrationRule;
  /** Cost parameter for `rule`, default 0; alone it means BEEM-A at this lambda. */
  readonly lambda?: number;
  /** Run every layer. */
  readonly full?: boolean;
}

export interface PolicyContext {
  readonly numExits: number;
  readonly defaultPolicy: Policy;
  /** Fits `rule` at `lambda` on the runtime's calibration data. */
  fit(rule: CalibrationRule, lambda: number): Policy | Promise<Policy>;
}

/** The policy for a choice, checked against the model's number of exits. */
export async function choosePolicy(choice: PolicyChoice, context: PolicyContext): Promise<Policy> {
  if (choice.full === true) return { version: 1, rule: "final", numExits: context.numExits };
  const fitting = choice.rule !== undefined || choice.lambda !== undefined;
  if (fitting && choice.policy !== undefined) {
    throw new BeemError("INVALID_ARGUMENT", 'Give either "policy" or "rule"/"lambda", not both');
  }
  let policy: Policy;
  if (fitting) {
    const rule = choice.rule ?? "beem-a";
    if (!(CALIBRATION_RULES as readonly string[]).includes(rule)) {
      throw new BeemError(
        "INVALID_ARGUMENT",
        `Expected rule to be one of ${CALIBRATION_RULES.join(", ")} but received ${JSON.stringify(rule)}`,
      );
    }
    policy = await context.fit(rule, checkFiniteNumber("lambda", choice.lambda ?? 0, 0));
  } else {
    policy = choice.policy ?? context.defaultPolicy;
  }
  if (policy.numExits !== context.numExits) {
    throw new BeemError(
      "INVALID_ARGUMENT",
      `The policy is for ${policy.numExits} exits but the model has ${context.numExits}`,
    );
  }
  return policy;
}

/**
 * Per-exit costs for calibration when every input also pays a fixed cost before exit 1
 * (tokenisation, embeddings, an image encoder): it is folded into exit 1.
 */
export function foldFixedCost(exits: readonly number[], fixed: number): number[] {
  return exits.map((c, i) => (i === 0 ? c + fixed : c));
}
