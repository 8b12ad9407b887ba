// @beem-ts/runtime: what the task runtimes share to load and run a multi-exit bundle:
// onnxruntime-node sessions for many small runs, the manifest's common fields, the tokenizer,
// and the bundle's policies fitted on its calibration log.
export { createSession, requireGraphNames, ort, type SessionOptions } from "./session.js";
export {
  bundleError,
  readBundleJson,
  readManifest,
  ManifestCheck,
  type BundleManifest,
  type ExitCosts,
} from "./bundle.js";
export { loadTokenizer, type PreTrainedTokenizer } from "./tokenizer.js";
export { tokenTexts, textsOfTokens, type TokenTexts } from "./token-texts.js";
export { BundlePolicies, type RuntimeOptions } from "./policies.js";
export {
  bundleCalibration,
  type BundleCalibration,
  type BundleCalibrationSource,
} from "./bundle-calibration.js";
export {
  cannotRead,
  checkNotSpecial,
  checkRegularFile,
  kindOf,
  statIfExists,
  stripBom,
  symlinkLoop,
} from "./input-files.js";
export { readExitLog, readPolicy } from "./exit-log-file.js";
