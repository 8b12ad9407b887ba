// Concurrent requests with the same options are merged into one batch (within `windowMs`, up to
// `maxBatch` items: texts to classify, images to caption) and run together; each item still
// exits at its own layers. Each request gets back its own items' results.
export interface BatcherOptions {
  /** How long the first request of a batch waits for others. Default 2 ms. */
  readonly windowMs?: number;
  /** Most texts in one batch; a full batch runs at once. Default 64. */
  readonly maxBatch?: number;
}

interface Waiting<T, R> {
  readonly items: readonly T[];
  resolve(results: R[]): void;
  reject(error: unknown): void;
}

interface Pending<T, R> {
  readonly requests: Waiting<T, R>[];
  size: number;
  timer: NodeJS.Timeout;
}

export class Batcher<T, K, R> {
  readonly #run: (items: T[], key: K) => Promise<R[]>;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #pending = new Map<string, Pending<T, R>>();

  constructor(run: (items: T[], key: K) => Promise<R[]>, options: BatcherOptions = {}) {
    this.#run = run;
    this.#windowMs = options.windowMs ?? 2;
    this.#maxBatch = options.maxBatch ?? 64;
  }

  add(items: readonly T[], key: K): Promise<R[]> {
    const id = JSON.stringify(key);
    return new Promise<R[]>((resolve, reject) => {
      let batch = this.#pending.get(id);
      if (batch !== undefined && batch.size + items.length > this.#maxBatch) {
        this.#flush(id, key);
        batch = undefined;
      }
      if (batch === undefined) {
        batch = {
          requests: [],
          size: 0,
          timer: setTimeout(() => this.#flush(id, key), this.#windowMs),
        };
        this.#pending.set(id, batch);
      }
      batch.requests.push({ items, resolve, reject });
      batch.size += items.length;
      if (batch.size >= this.#maxBatch) this.#flush(id, key);
    });
  }

  #flush(id: string, key: K): void {
    const batch = this.#pending.get(id);
    if (batch === undefined) return;
    this.#pending.delete(id);
    clearTimeout(batch.timer);
    const items = batch.requests.flatMap((r) => r.items);
    this.#run(items, key).then(
      (results) => {
        let offset = 0;
        for (const r of batch.requests) {
          r.resolve(results.slice(offset, offset + r.items.length));
          offset += r.items.length;
        }
      },
      (error: unknown) => {
        for (const r of batch.requests) r.reject(error);
      },
    );
  }
}
