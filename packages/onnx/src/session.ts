// onnxruntime-node sessions set up for many small runs in sequence (one per layer).
import * as ort from "onnxruntime-node";
import { BeemError } from "@beem-ts/core";

export interface SessionOptions {
  /** Threads inside one operator. Default 1: per-layer graphs are small, and with more threads
   * spinning workers cost more than they save. */
  readonly intraOpThreads?: number;
}

export async function createSession(
  path: string,
  options: SessionOptions = {},
): Promise<ort.InferenceSession> {
  const threads = options.intraOpThreads ?? 1;
  try {
    return await ort.InferenceSession.create(path, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      // Spinning threads wait busily between the many small runs of a layer-by-layer model.
      extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
    });
  } catch (cause) {
    throw new BeemError(
      "INVALID_BUNDLE",
      `${path}: cannot load the ONNX graph (${(cause as Error).message})`,
      { cause },
    );
  }
}

export { ort };
