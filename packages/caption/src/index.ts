// @beem-ts/caption: per-token early-exit captioning and caption metrics.
export { scoreCaptions, type CaptionScores, type ScoreInput } from "./metrics/score.js";
export { corpusBleu } from "./metrics/bleu.js";
export { rougeL, corpusRougeL } from "./metrics/rouge.js";
export { ciderDScores } from "./metrics/cider.js";
export { metricTokens } from "./metrics/tokenize.js";
