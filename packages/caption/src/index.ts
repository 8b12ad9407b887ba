// @beem-ts/caption: per-token early-exit captioning and caption metrics.
export {
  Captioner,
  MAX_BEAMS,
  type BatchCaption,
  type CaptionOptions,
  type CaptionResult,
  type CaptionToken,
  type CaptionerLoadOptions,
} from "./captioner.js";
export {
  CaptionModel,
  type CaptionModelOptions,
  type FullStepOutput,
  type KeyValue,
  type StepOutput,
} from "./caption-model.js";
export { decodeFused } from "./fused-decoder.js";
export {
  DEFAULT_SKIPPED_LAYER_FILL,
  SKIPPED_LAYER_FILLS,
  fillSkippedLayers,
  type SkippedLayerFill,
} from "./skipped-layers.js";
export { CrossStacks, ImageMemory, SequenceCache, ensureCross, fillPending } from "./kv-cache.js";
export { stepLayer, type SequenceStep, type StepLayerOptions } from "./layer-step.js";
export {
  decodeGreedy,
  decodePosition,
  type DecodeOptions,
  type GeneratedToken,
  type Position,
  type PositionOptions,
  type SequenceToken,
} from "./greedy-decoder.js";
export { decodeBeams, type BeamOptions, type BeamResult } from "./beam-decoder.js";
export { readCaptionManifest, type CaptionManifest } from "./manifest.js";
export {
  imageToPixels,
  PreparedImage,
  DEFAULT_MAX_PIXELS,
  type ImageInput,
  type ImageOptions,
} from "./image-input.js";
export { scoreCaptions, type CaptionScores, type ScoreInput } from "./metrics/score.js";
export { scoreCaptionFile } from "./metrics/score-file.js";
export { corpusBleu } from "./metrics/bleu.js";
export { rougeL, corpusRougeL } from "./metrics/rouge.js";
export { ciderDScores } from "./metrics/cider.js";
export { metricTokens } from "./metrics/tokenize.js";
