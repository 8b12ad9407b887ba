// The incremental step API for runtimes: feed exit i's output, learn at once whether to stop.
import { BeemError } from "./errors.js";
import {
  checkProbabilities,
  logitsProblem,
  softmax,
  summarize,
  type ExitSummary,
} from "./exit-output.js";
import { scoreSpecOf, scoreThresholds, type Policy } from "./policy.js";
import { createScorer } from "./rules.js";

/** The outcome of feeding one exit: stop here with this answer, or go on to the next layer. */
export type StepDecision =
  | {
      readonly exit: true;
      /** 1-based exit the answer comes from. */
      readonly layer: number;
      readonly prediction: number;
      readonly confidence: number;
      readonly score: number;
    }
  | {
      readonly exit: false;
      readonly layer: number;
      readonly prediction: number;
      readonly confidence: number;
      readonly score: number;
    };

/** One input's way through the exits. */
export interface ExitRun {
  /** Exits fed so far. */
  readonly layer: number;
  /** Whether a decision to stop has been returned. */
  readonly done: boolean;
  /** Feeds the next exit's probability vector. */
  step(probabilities: ArrayLike<number>): StepDecision;
  /** Feeds the next exit's logits (soft-maxed here). */
  stepLogits(logits: ArrayLike<number>): StepDecision;
  /** Feeds a summary computed by the caller (e.g. fused into a runtime's kernel). */
  stepSummary(summary: ExitSummary): StepDecision;
}

export interface Decider {
  readonly policy: Policy;
  readonly numExits: number;
  /** Starts a run for one input (one sample, or one generated token). */
  begin(): ExitRun;
}

/** Makes the step API of a policy (check it with `parsePolicy` first if it came from a file). */
export function createDecider(policy: Policy): Decider {
  const thresholds = scoreThresholds(policy);
  const spec = scoreSpecOf(policy);
  const numExits = policy.numExits;
  return {
    policy,
    numExits,
    begin() {
      const scorer = createScorer(spec);
      let layer = 0;
      let done = false;
      const stepSummary = (summary: ExitSummary): StepDecision => {
        if (done) {
          throw new BeemError("INVALID_STATE", `This run already stopped at exit ${layer}`);
        }
        const score = scorer.next(summary);
        layer++;
        const exit = layer >= numExits || score >= thresholds[layer - 1]!;
        done = exit;
        return {
          exit,
          layer,
          prediction: summary.prediction,
          confidence: summary.confidence,
          score,
        };
      };
      return {
        get layer() {
          return layer;
        },
        get done() {
          return done;
        },
        step(probabilities) {
          checkProbabilities(`the probabilities of exit ${layer + 1}`, probabilities);
          return stepSummary(summarize(probabilities));
        },
        stepLogits(logits) {
          const problem = logitsProblem(logits);
          if (problem !== undefined) {
            throw new BeemError(
              "INVALID_ARGUMENT",
              `Expected the logits of exit ${layer + 1} to be finite numbers but they ${problem}`,
            );
          }
          return stepSummary(summarize(softmax(logits)));
        },
        stepSummary,
      };
    },
  };
}
