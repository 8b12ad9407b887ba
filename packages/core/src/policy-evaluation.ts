// What replaying a policy on a labelled log shows: its decisions, accuracy and speed-up, each
// exit's own accuracy, and for a risk-controlled policy the loss it realises against its bound.
import { summarizeDecisions, type EvaluationReport } from "./evaluate.js";
import { exitAccuracies, type ExitTable } from "./exit-table.js";
import type { Policy } from "./policy.js";
import { replay, type Decisions } from "./replay.js";
import { meanLoss, type RiskLoss } from "./risk-control.js";

export interface PolicyEvaluation {
  /** Per sample: the 1-based exit layer and the prediction. */
  readonly decisions: Decisions;
  /** Accuracy and speed-up, with the policy's costs (else equal layers). */
  readonly report: EvaluationReport;
  /** Each exit's own accuracy on the log, whatever the policy decides. */
  readonly exitAccuracies: number[];
  /** Set for a policy with `riskControl`: its bound, and its mean loss on this log. */
  readonly risk?: {
    readonly loss: RiskLoss;
    readonly maxLoss: number;
    readonly delta: number;
    /** Per group (as the guarantee counts) when the log's lines carry groups. */
    readonly realisedLoss: number;
  };
}

/** Replays `policy` on `table` and reports what it decided and how well. */
export function evaluatePolicy(policy: Policy, table: ExitTable): PolicyEvaluation {
  const decisions = replay(policy, table);
  const report = summarizeDecisions(table, decisions, policy.costs ? { costs: policy.costs } : {});
  const r = policy.riskControl;
  const risk = r && {
    loss: r.loss,
    maxLoss: r.epsilon,
    delta: r.delta,
    realisedLoss: meanLoss(policy, table, r.loss, { groupLoss: r.groups?.loss ?? "mean" }),
  };
  return { decisions, report, exitAccuracies: exitAccuracies(table), ...(risk && { risk }) };
}
