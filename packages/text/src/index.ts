// @beem-ts/text: multi-exit text classification, layer by layer on onnxruntime-node.
export {
  TextClassifier,
  type ClassifyOptions,
  type Classification,
  type LoadOptions,
} from "./text-classifier.js";
export type { TraceStep } from "./layer-runner.js";
export { MultiExitEncoder, maskTensor, type LayerOutput } from "./multi-exit-encoder.js";
export { readTextManifest, type TextManifest, type GraphSpec, type ExitCosts } from "./manifest.js";
export { createSession, type SessionOptions } from "@beem-ts/runtime";
export { readLabelledTexts, parseLabelledTexts, type LabelledText } from "./labelled-data.js";
export { truncateIds, type Encoded } from "./tokenizer.js";
