// Concurrent classification requests with the same options are merged into one batch (within
// `windowMs`, up to `maxBatch` texts) and classified together; each text still exits at its own
// layer. Each request gets back its own texts' results.
export interface BatcherOptions {
  /** How long the first request of a batch waits for others. Default 2 ms. */
  readonly windowMs?: number;
  /** Most texts in one batch; a full batch runs at once. Default 64. */
  readonly maxBatch?: number;
}

interface Waiting<R> {
  readonly texts: readonly string[];
  resolve(results: R[]): void;
  reject(error: unknown): void;
}

interface Pending<R> {
  readonly requests: Waiting<R>[];
  size: number;
  timer: NodeJS.Timeout;
}

export class Batcher<K, R> {
  readonly #run: (texts: string[], key: K) => Promise<R[]>;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #pending = new Map<string, Pending<R>>();

  constructor(run: (texts: string[], key: K) => Promise<R[]>, options: BatcherOptions = {}) {
    this.#run = run;
    this.#windowMs = options.windowMs ?? 2;
    this.#maxBatch = options.maxBatch ?? 64;
  }

  add(texts: readonly string[], key: K): Promise<R[]> {
    const id = JSON.stringify(key);
    return new Promise<R[]>((resolve, reject) => {
      let batch = this.#pending.get(id);
      if (batch !== undefined && batch.size + texts.length > this.#maxBatch) {
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
      batch.requests.push({ texts, resolve, reject });
      batch.size += texts.length;
      if (batch.size >= this.#maxBatch) this.#flush(id, key);
    });
  }

  #flush(id: string, key: K): void {
    const batch = this.#pending.get(id);
    if (batch === undefined) return;
    this.#pending.delete(id);
    clearTimeout(batch.timer);
    const texts = batch.requests.flatMap((r) => r.texts);
    this.#run(texts, key).then(
      (results) => {
        let offset = 0;
        for (const r of batch.requests) {
          r.resolve(results.slice(offset, offset + r.texts.length));
          offset += r.texts.length;
        }
      },
      (error: unknown) => {
        for (const r of batch.requests) r.reject(error);
      },
    );
  }
}
