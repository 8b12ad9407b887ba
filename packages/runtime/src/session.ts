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

/**
 * Throws INVALID_BUNDLE naming the file when a graph lacks an input or output the runtime feeds
 * or reads.
 */
export function requireGraphNames(
  session: ort.InferenceSession,
  names: { readonly inputs: readonly string[]; readonly outputs: readonly string[] },
  path: string,
): void {
  for (const [kind, wanted, actual] of [
    ["input", names.inputs, session.inputNames],
    ["output", names.outputs, session.outputNames],
  ] as const) {
    const missing = wanted.filter((name) => !actual.includes(name));
    if (missing.length > 0) {
      throw new BeemError(
        "INVALID_BUNDLE",
        `${path}: the graph has no ${kind} ${missing.map((n) => JSON.stringify(n)).join(", ")} (it has ${actual.join(", ")})`,
      );
    }
  }
}

export { ort };
