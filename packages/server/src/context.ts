// What the routes share: the loaded models, limits, the inference queues, metrics and the logger.
import type { Inference, Models } from "./batching.js";
import { HttpError } from "./errors.js";
import type { Limits } from "./limits.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

export type ServerState = "loading" | "ready" | "failed" | "closing";

export interface ServerContext {
  readonly limits: Limits;
  /** Filled in as the models load (lifecycle.ts). */
  readonly models: Models;
  /** Which models this server was asked to serve. */
  readonly serves: { readonly caption: boolean; readonly text: boolean };
  state: ServerState;
  readonly inference: Inference;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** The loaded model of a route: 404 if this server does not serve it, 503 while it loads. */
export function requireModel<K extends keyof Models>(
  ctx: ServerContext,
  kind: K,
): NonNullable<Models[K]> {
  const model = ctx.models[kind];
  if (model !== undefined) return model;
  if (!ctx.serves[kind]) throw new HttpError("NOT_FOUND", `This server serves no ${kind} model`);
  throw new HttpError("NOT_READY", `The ${kind} model is still loading`);
}
