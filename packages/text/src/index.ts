export { MultiExitEncoder, maskTensor, type LayerOutput } from "./multi-exit-encoder.js";
export { readTextManifest, type TextManifest, type GraphSpec, type ExitCosts } from "./manifest.js";
export { createSession, type SessionOptions } from "./session.js";
