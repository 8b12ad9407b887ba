// What the routes share: the loaded models, limits, queues, metrics and the logger.
import type { BatchCaption, Captioner } from "@beem-ts/caption";
import type { Classification, TextClassifier } from "@beem-ts/text";
import type { Batcher } from "./batcher.js";
import type { Limits } from "./limits.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { CaptionRequestOptions, PolicyOptions } from "./options.js";
import type { WorkQueue } from "./queue.js";

export interface ServerContext {
  readonly limits: Limits;
  readonly models: { caption?: Captioner; text?: TextClassifier };
  /** Which models this server was asked to serve. */
  readonly serves: { readonly caption: boolean; readonly text: boolean };
  state: "loading" | "ready" | "failed" | "closing";
  readonly captionQueue: WorkQueue;
  readonly textQueue: WorkQueue;
  readonly classifyBatcher: Batcher<string, PolicyOptions, Classification>;
  readonly captionBatcher: Batcher<Buffer, CaptionRequestOptions, BatchCaption>;
  readonly metrics: Metrics;
  readonly log: Logger;
}
