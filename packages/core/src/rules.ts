// The exit rules, each reduced to a running score per exit: a rule stops at the first
// exit i < L whose score reaches that exit's threshold (in score units).
import type { ExitSummary } from "./exit-output.js";

/** Rules as stored in a policy. */
export const POLICY_RULES = ["beem", "maxprob", "entropy", "patience", "static", "final"] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

/** Rules a calibration can fit: BEEM with accuracy (A) or cost (C) weights, and the baselines. */
export const CALIBRATION_RULES = [
  "beem-a",
  "beem-c",
  "maxprob",
  "entropy",
  "patience",
  "static",
  "final",
] as const;
export type CalibrationRule = (typeof CALIBRATION_RULES)[number];

/**
 * Other names accepted for a calibration rule: `beem`, the rule a BEEM policy file (and every
 * report of one) names, is BEEM-A, the default.
 */
export const RULE_ALIASES: Readonly<Record<string, CalibrationRule>> = { beem: "beem-a" };

/** A rule name as given, or the rule it is an alias of. */
export function unalias(name: string): string {
  return Object.hasOwn(RULE_ALIASES, name) ? RULE_ALIASES[name]! : name;
}

/** On disagreement BEEM restarts the chain at the disagreeing expert ("current") or at 0 ("zero"). */
export type Reset = "current" | "zero";

/** What a scorer needs to know about its rule. */
export type ScoreSpec =
  | { readonly rule: "beem"; readonly weights: readonly number[]; readonly reset: Reset }
  | { readonly rule: Exclude<PolicyRule, "beem"> };

/** Turns the stream of one input's exit summaries, exit 1 first, into scores. */
export interface Scorer {
  next(exit: ExitSummary): number;
}

export function createScorer(spec: ScoreSpec): Scorer {
  switch (spec.rule) {
    case "beem":
      return beemScorer(spec.weights, spec.reset);
    case "maxprob":
      return { next: (exit) => exit.confidence };
    case "entropy":
      // Exit when entropy <= ceiling, i.e. when -entropy >= -ceiling.
      return { next: (exit) => -exit.entropy };
    case "patience":
      return patienceScorer();
    case "static": {
      let layer = 0;
      return { next: () => ++layer };
    }
    case "final":
      return { next: () => 0 };
  }
}

/**
 * BEEM's experts: S_1 = w_1 C_1; S_i = S_(i-1) + w_i C_i while y_i == y_(i-1); on disagreement
 * S_i = w_i C_i ("current") or 0 ("zero").
 */
function beemScorer(weights: readonly number[], reset: Reset): Scorer {
  let layer = 0;
  let score = 0;
  let previous = -1;
  return {
    next(exit) {
      const vote = (weights[layer] ?? 0) * exit.confidence;
      if (layer === 0 || exit.prediction === previous) score += vote;
      else score = reset === "current" ? vote : 0;
      previous = exit.prediction;
      layer++;
      return score;
    },
  };
}

/** PABEE: how many exits in a row before this one predicted the same class. */
function patienceScorer(): Scorer {
  let count = -1;
  let previous = -1;
  return {
    next(exit) {
      count = exit.prediction === previous ? count + 1 : 0;
      previous = exit.prediction;
      return count;
    },
  };
}
