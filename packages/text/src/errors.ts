import { BeemError } from "@beem-ts/core";

/** Codes of the text package, on top of the core's. */
export type TextErrorCode = "INVALID_BUNDLE" | "MODEL_DISPOSED" | "INFERENCE_FAILED";

export function bundleError(message: string, cause?: unknown): BeemError {
  return new BeemError("INVALID_BUNDLE", message, cause === undefined ? {} : { cause });
}
