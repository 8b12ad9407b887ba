// What the routes share: the loaded models, limits, queues, metrics and the logger.
import type { BatchCaption, Captioner, ImageInput } from "@beem-ts/caption";
import type { Classification, TextClassifier } from "@beem-ts/text";
import type { Batcher } from "./batcher.js";
import type { Limits } from "./limits.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { CaptionRequestOptions, PolicyOptions } from "./options.js";
import type { WorkQueue } from "./queue.js";
import { HttpError } from "./errors.js";

export interface ServerContext {
  readonly limits: Limits;
  readonly models: { caption?: Captioner; text?: TextClassifier };
  /** Which models this server was asked to serve. */
  readonly serves: { readonly caption: boolean; readonly text: boolean };
  state: "loading" | "ready" | "failed" | "closing";
  readonly captionQueue: WorkQueue;
  readonly classifyBatcher: Batcher<string, PolicyOptions, Classification>;
  readonly captionBatcher: Batcher<ImageInput, CaptionRequestOptions, BatchCaption>;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** The loaded model of a route: 404 if this server does not serve it, 503 while it loads. */
export function requireModel<K extends keyof ServerContext["models"]>(
  ctx: ServerContext,
  kind: K,
): NonNullable<ServerContext["models"][K]> {
  const model = ctx.models[kind];
  if (model !== undefined) return model;
  if (!ctx.serves[kind]) throw new HttpError("NOT_FOUND", `This server serves no ${kind} model`);
  throw new HttpError("NOT_READY", `The ${kind} model is still loading`);
}
