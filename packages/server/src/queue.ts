// A bounded work queue: jobs run one at a time (or `concurrency` at a time); when `maxWaiting`
// jobs are already waiting, a new one is refused at once with QUEUE_FULL (HTTP 429) rather than
// piling up.
import { HttpError } from "./errors.js";

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
