// @beem-ts/core: the BEEM early-exit decision core. No runtime dependencies.
export { BeemError, ERROR_CODES, describe, invalidArgument, type BeemErrorCode } from "./errors.js";
export {
  checkFiniteNumber,
  checkInteger,
  checkNumberArray,
  checkOneOf,
  checkOpenUnit,
} from "./check.js";
export {
  softmax,
  summarize,
  checkProbabilities,
  probabilityProblem,
  PROBABILITY_SUM_TOLERANCE,
  type ExitSummary,
} from "./exit-output.js";
export {
  createScorer,
  POLICY_RULES,
  CALIBRATION_RULES,
  RULE_ALIASES,
  unalias,
  type PolicyRule,
  type CalibrationRule,
  type Reset,
  type ScoreSpec,
  type Scorer,
} from "./rules.js";
export { accuracyWeights, costWeights, cumulativeCostFractions, equalCosts } from "./weights.js";
export {
  POLICY_VERSION,
  parsePolicy,
  serializePolicy,
  fullDepthPolicy,
  checkPolicyExits,
  scoreThresholds,
  type Policy,
  type BeemPolicy,
  type ThresholdPolicy,
  type StaticPolicy,
  type FinalPolicy,
  type Threshold,
  type CalibrationSummary,
  type RiskControlSummary,
} from "./policy.js";
export {
  calibrateRisk,
  createLossMeter,
  hoeffdingBentkusPValue,
  meanLoss,
  neededSamples,
  RISK_LOSSES,
  GROUP_LOSSES,
  RISK_PATH_LAMBDAS,
  type RiskLoss,
  type GroupLoss,
  type RiskControlOptions,
  type RiskControlResult,
} from "./risk-control.js";
export { createDecider, type Decider, type ExitRun, type StepDecision } from "./decider.js";
export {
  ExitTableBuilder,
  createExitTable,
  exitAccuracies,
  type ExitSample,
  type ExitTable,
} from "./exit-table.js";
export {
  parseExitLog,
  parseExitLogLine,
  formatExitLogLine,
  formatSummaryLogLine,
  addParsedSample,
  type SummarizedSample,
} from "./exit-log.js";
export { replay, type Decisions } from "./replay.js";
export { evaluate, summarizeDecisions, type EvaluationReport } from "./evaluate.js";
export { evaluatePolicy, type PolicyEvaluation } from "./policy-evaluation.js";
export {
  describeFit,
  fitPolicy,
  type FitPolicyOptions,
  type FitPolicyResult,
} from "./fit-policy.js";
export {
  calibrate,
  createCalibrator,
  type Calibrator,
  type CalibrateOptions,
  type CalibratorOptions,
} from "./calibrate.js";
export { LAMBDA_GRID } from "./threshold-solver.js";
export {
  sweep,
  markParetoFront,
  type SweepOptions,
  type SweepResult,
  type SweepRow,
} from "./sweep.js";
export { generateSyntheticExits, seededRandom, type SyntheticOptions } from "./synthetic.js";
export { median, meanExitLayer } from "./stats.js";
export {
  choosePolicy,
  foldFixedCost,
  type PolicyChoice,
  type PolicyContext,
  type RiskChoice,
} from "./policy-choice.js";
