// @beem-ts/bench: measuring early exit. Functions take loaded models and options and return
// plain typed results; nothing here parses arguments, prints or exits.
export { BENCH_ERROR_CODES, BenchError, type BenchErrorCode } from "./errors.js";
export { pairedSpeedup, timeSideBySide, type Runner, type SideBySideOptions } from "./timing.js";
export {
  loadCaptionSplit,
  readCaptionData,
  splitRows,
  type CaptionDataRow,
  type CaptionSet,
  type CaptionSetSource,
  type CaptionSplitOptions,
} from "./caption-data.js";
export { RESERVED_SEEDS, writeScenes, type SceneSetOptions } from "./scene-set.js";
export {
  candidates,
  meanExitOf,
  timeWays,
  tokenStats,
  type TokenStats,
  type WayTiming,
} from "./caption-runs.js";
export {
  evaluateCaptions,
  type CaptionEvalOptions,
  type CaptionEvalReport,
} from "./caption-eval.js";
export { captionEvalSummary } from "./caption-eval-summary.js";
export {
  SWEEP_COLUMNS,
  SWEEP_LAMBDAS,
  SWEEP_RULES,
  sweepCaptions,
  type CaptionSweep,
  type CaptionSweepOptions,
  type SweepRow,
} from "./caption-sweep.js";
export {
  captionSweepReport,
  describeCaptionSet,
  type SweepReportOptions,
} from "./caption-sweep-report.js";
export {
  NEIGHBOUR_KS,
  NearestNeighbours,
  degeneracy,
  leaveOneOut,
  measureBaselines,
  type BaselineReport,
  type Degeneracy,
} from "./caption-baselines.js";
export {
  exitLayerByDifficulty,
  exitLayerByNaming,
  exitLayerByObjects,
  exitLayerByPhotoWordClass,
  exitLayerByWordClass,
} from "./caption-breakdowns.js";
export {
  classifierEvalSummary,
  evaluateClassifier,
  type ClassifierEvalOptions,
  type ClassifierEvalReport,
} from "./classify-eval.js";
export {
  benchScale,
  scaleSummary,
  type ScaleOptions,
  type ScaleResult,
} from "./scale/bench-scale.js";
export { beemCacheDir, checkPython } from "./tools.js";
export {
  POLICY_SWEEP_COLUMNS,
  policyEvaluationSummary,
  policySweepTable,
} from "./policy-tables.js";
export { SCALE_PRESETS, ensureScaleBundle, type ScalePreset } from "./scale/presets.js";
export { type ScaleCaptionReport } from "./scale/caption.js";
export { type ScaleTextReport } from "./scale/text.js";
export { type SessionCost } from "./scale/sessions.js";
export {
  alignedTable,
  csv,
  formatNumber,
  markdownTable,
  textTable,
  type Cell,
  type Row,
} from "./tables.js";
export { writeTableReport, type TableReport } from "./reports.js";
export {
  qualityDomain,
  renderSvg,
  svgToPng,
  tradeOffSpec,
  type TradeOffChart,
  type TradeOffPoint,
} from "./plot.js";
export {
  isTransformersJsExport,
  optionalTransformersJsExport,
  tjsCacheDir,
  transformersJsExport,
  type OptionalExportOptions,
  type TransformersJsExportOptions,
} from "./tjs-export.js";
export {
  TJS_BLOCK,
  TJS_DEFAULT_THREADS,
  openTransformersJs,
  tjsThreadsLabel,
  transformersJsAgainst,
  type TransformersJsCaptioner,
} from "./transformers-js.js";
