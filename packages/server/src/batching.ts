// Everything that decides when model calls run: dynamic batching of concurrent requests, bounded
// queues, and the wiring of both to the caption and text models (createInference).
//
// Dynamic batching of concurrent requests (texts to classify, images to caption): one batch runs
// at a time, and requests that arrive meanwhile wait and go together in the next batch, which
// starts as soon as the running one ends. When nothing is running, the first request waits
// `windowMs` for company, unless its batch is already full. Only requests with the same options
// share a batch; each item still exits at its own layers, and each request gets back its own
// items' results.
//
// Flushing on a timer alone (whatever arrived within a few milliseconds, then into a queue)
// fragments under load: requests reach the server spread out, so batches of one or two queue up
// behind the running batch while the requests that could have joined them keep arriving.
//
// A bounded work queue: jobs run one at a time (or `concurrency` at a time); when `maxWaiting`
// jobs are already waiting, a new one is refused at once with QUEUE_FULL (HTTP 429) rather than
// piling up.
import type { BatchCaption, CaptionResult, Captioner, ImageInput } from "@beem-ts/caption";
import type { Classification, TextClassifier } from "@beem-ts/text";
import { HttpError } from "./errors.js";
import type { Limits } from "./limits.js";
import type { CaptionRequestOptions, PolicyOptions } from "./options.js";

export interface BatcherOptions {
  /** How long the first request waits for others when no batch is running. Default 2 ms. */
  readonly windowMs?: number;
  /** Most items in one batch (a single larger request runs alone). Default 64. */
  readonly maxBatch?: number;
  /** Requests allowed to wait while a batch runs; beyond that, QUEUE_FULL (429). Default 64. */
  readonly maxWaiting?: number;
  /** Seconds suggested to the client in Retry-After. Default 1. */
  readonly retryAfterSeconds?: number;
}

interface Waiting<T, R> {
  readonly items: readonly T[];
  resolve(results: R[]): void;
  reject(error: unknown): void;
}

interface Pending<T, K, R> {
  readonly key: K;
  readonly requests: Waiting<T, R>[];
}

export class Batcher<T, K, R> {
  readonly #run: (items: T[], key: K) => Promise<R[]>;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #maxWaiting: number;
  readonly #retryAfter: number;
  /** Waiting requests by options, next to run first (a Map keeps insertion order). */
  readonly #pending = new Map<string, Pending<T, K, R>>();
  #waiting = 0;
  #running = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(run: (items: T[], key: K) => Promise<R[]>, options: BatcherOptions = {}) {
    this.#run = run;
    this.#windowMs = options.windowMs ?? 2;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#maxWaiting = options.maxWaiting ?? 64;
    this.#retryAfter = options.retryAfterSeconds ?? 1;
  }

  /** Requests waiting for a batch (not counting the one running). */
  get waiting(): number {
    return this.#waiting;
  }

  add(items: readonly T[], key: K): Promise<R[]> {
    if (this.#running && this.#waiting >= this.#maxWaiting) {
      return Promise.reject(
        new HttpError("QUEUE_FULL", "The server is busy; try again shortly", {
          headers: { "Retry-After": String(this.#retryAfter) },
        }),
      );
    }
    const id = JSON.stringify(key);
    return new Promise<R[]>((resolve, reject) => {
      let pending = this.#pending.get(id);
      if (pending === undefined) this.#pending.set(id, (pending = { key, requests: [] }));
      pending.requests.push({ items, resolve, reject });
      this.#waiting++;
      this.#schedule(pending);
    });
  }

  /** With no batch running: start now if `added` filled its batch, else after the window. */
  #schedule(added: Pending<T, K, R>): void {
    if (this.#running) return;
    if (added.requests.reduce((n, r) => n + r.items.length, 0) >= this.#maxBatch) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#next();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.#next();
      }, this.#windowMs);
    }
  }

  /** Runs the next options' waiting requests (up to maxBatch items), then the next batch. */
  async #next(): Promise<void> {
    const [id, pending] = this.#pending.entries().next().value ?? [];
    if (id === undefined || pending === undefined) return;
    const batch: Waiting<T, R>[] = [];
    let items = 0;
    while (pending.requests.length > 0) {
      const n = pending.requests[0]!.items.length;
      if (batch.length > 0 && items + n > this.#maxBatch) break;
      batch.push(pending.requests.shift()!);
      items += n;
    }
    // Options with requests left go to the back, so that other options' requests get their turn.
    this.#pending.delete(id);
    if (pending.requests.length > 0) this.#pending.set(id, pending);
    this.#waiting -= batch.length;
    this.#running = true;
    try {
      const results = await this.#run(
        batch.flatMap((r) => r.items),
        pending.key,
      );
      let offset = 0;
      for (const r of batch) {
        r.resolve(results.slice(offset, offset + r.items.length));
        offset += r.items.length;
      }
    } catch (error) {
      for (const r of batch) r.reject(error);
    } finally {
      this.#running = false;
    }
    // Requests that arrived meanwhile have waited long enough: no window for them.
    if (this.#pending.size > 0) void this.#next();
  }
}

export interface QueueOptions {
  /** Jobs run at the same time. Default 1. */
  readonly concurrency?: number;
  /** Jobs allowed to wait; beyond that, QUEUE_FULL. Default 64. */
  readonly maxWaiting?: number;
  /** Seconds suggested to the client in Retry-After. Default 1. */
  readonly retryAfterSeconds?: number;
}

export class WorkQueue {
  readonly #concurrency: number;
  readonly #maxWaiting: number;
  readonly #retryAfter: number;
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(options: QueueOptions = {}) {
    this.#concurrency = options.concurrency ?? 1;
    this.#maxWaiting = options.maxWaiting ?? 64;
    this.#retryAfter = options.retryAfterSeconds ?? 1;
  }

  /** Jobs running plus waiting. */
  get depth(): number {
    return this.#running + this.#waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running < this.#concurrency) this.#running++;
    else {
      if (this.#waiting.length >= this.#maxWaiting) {
        throw new HttpError("QUEUE_FULL", "The server is busy; try again shortly", {
          headers: { "Retry-After": String(this.#retryAfter) },
        });
      }
      // A finishing job hands its slot over (the running count stays as it is).
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** The loaded models whose work is batched and queued. */
export interface Models {
  caption?: Captioner;
  text?: TextClassifier;
}

/** Where every model call of the routes goes: batched, or queued, and bounded either way. */
export interface Inference {
  /**
   * Captions the images of one request. A single image decoded greedily joins a batch with
   * concurrent requests (decoded on arrival, so that an unreadable one is refused before it joins
   * and the batch starts with its pixels ready); other requests run as they come, in the queue.
   */
  caption(images: readonly Buffer[], options: CaptionRequestOptions): Promise<BatchCaption[]>;
  /** Runs `job` (a streamed caption) in the caption queue. */
  inCaptionQueue<T>(job: () => Promise<T>): Promise<T>;
  /** Classifies the texts of one request, batched with concurrent requests of the same options. */
  classify(texts: readonly string[], options: PolicyOptions): Promise<Classification[]>;
  /** Requests waiting or running, per model (a metrics gauge). */
  depth(model: "caption" | "text"): number;
}

/** A result with `imageMs` more image decoding, in `imageMs` and in `totalMs`. */
function withImageMs(result: CaptionResult, imageMs: number): CaptionResult {
  const t = result.timings;
  return {
    ...result,
    timings: { ...t, imageMs: t.imageMs + imageMs, totalMs: t.totalMs + imageMs },
  };
}

export function createInference(
  models: Models,
  limits: Limits,
  observe: { captionBatch(size: number): void; classifyBatch(size: number): void },
): Inference {
  const captionQueue = new WorkQueue({ maxWaiting: limits.maxQueue });
  const textQueue = new WorkQueue({ maxWaiting: limits.maxQueue });
  const batching = { windowMs: limits.batchWindowMs, maxWaiting: limits.maxQueue };
  const captionBatcher = new Batcher<ImageInput, CaptionRequestOptions, BatchCaption>(
    (images, options) =>
      captionQueue.run(() => {
        observe.captionBatch(images.length);
        return models.caption!.captionBatch(images, options);
      }),
    { ...batching, maxBatch: limits.maxCaptionBatch },
  );
  const classifyBatcher = new Batcher<string, PolicyOptions, Classification>(
    (texts, options) =>
      textQueue.run(() => {
        observe.classifyBatch(texts.length);
        return models.text!.classify(texts, { ...options, batchSize: limits.maxBatch });
      }),
    { ...batching, maxBatch: limits.maxBatch },
  );
  return {
    async caption(images, options) {
      const captioner = models.caption!;
      if (images.length === 1 && (options.beams ?? 1) === 1) {
        // Decoded here, before joining a batch: its time is this image's, and counts in its
        // timings as it does when the captioner decodes the image itself (streaming, batches).
        const started = performance.now();
        const prepared = await captioner.prepare(images[0]!);
        const imageMs = performance.now() - started;
        const results = await captionBatcher.add([prepared], options);
        return results.map((r) =>
          r.ok ? { ok: true, result: withImageMs(r.result, imageMs) } : r,
        );
      }
      return captionQueue.run(() => captioner.captionBatch(images, options));
    },
    inCaptionQueue: (job) => captionQueue.run(job),
    classify: (texts, options) => classifyBatcher.add(texts, options),
    depth: (model) =>
      model === "caption"
        ? captionQueue.depth + captionBatcher.waiting
        : textQueue.depth + classifyBatcher.waiting,
  };
}
