// The bench's errors: a BeemError with the core's codes (a missing file, a malformed data set)
// or one of the measuring's own.
import { BeemError, type BeemErrorCode } from "@beem-ts/core";

/** The codes the bench adds to the core's, with what each means. */
export const BENCH_ERROR_CODES = {
  RESERVED_SEED: "scenes of a seed the bundled scene model was trained, validated or calibrated on",
  PREREQUISITE_MISSING: "Python with PyTorch, onnx and NumPy, which a measurement runs, is missing",
  TOOL_FAILED: "a Python tool of training/ (checkpoint, conversion, composing layers) failed",
  TJS_EXPORT_FAILED: "the transformers.js export of a caption bundle cannot be made",
  CHECK_FAILED: "a measurement's own consistency check failed (a forced exit did not happen)",
} as const satisfies Record<string, string>;

export type BenchErrorCode = keyof typeof BENCH_ERROR_CODES | BeemErrorCode;

/** An error of the measuring library, with a stable `code` (the core's or BENCH_ERROR_CODES). */
export class BenchError extends BeemError<BenchErrorCode> {
  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "BenchError";
  }
}
