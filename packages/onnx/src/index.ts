// @beem-ts/onnx: onnxruntime-node sessions for layer-by-layer models.
export { createSession, requireGraphNames, ort, type SessionOptions } from "./session.js";
export {
  bundleCalibration,
  type BundleCalibration,
  type BundleCalibrationSource,
} from "./bundle-calibration.js";
