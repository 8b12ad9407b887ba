// A worker a service embeds: it takes images off the queue, captions the jobs it holds as one
// batch, stores each result under its job id (the content hash: a retried job writes the same
// entry again) and keeps going through Redis outages.
import { isAbsolute, resolve } from "node:path";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import sharp from "sharp";
import { BeemError, checkFiniteNumber, checkInteger, type Policy } from "@beem-ts/core";
import { Captioner, type CaptionOptions, type CaptionResult } from "@beem-ts/caption";
import { checkQueueName, connect, insideRoot, keys, type ImageJob } from "./queue.js";
import type { RedisOptions } from "./queue.js";
import { watchRedis } from "./redis-watch.js";
import { resultRecord } from "./results-file.js";
import { batching } from "./batching.js";

export interface CaptionWorkerOptions {
  /** The Redis the queue lives in (reconnected without end while the worker runs). Required. */
  readonly redis: RedisOptions;
  /** The queue's name. Required. */
  readonly queue: string;
  /**
   * A loaded captioner (the caller disposes of it), or the path of a caption bundle to load (the
   * worker disposes of it when closed). Required.
   */
  readonly captioner: Captioner | string;
  /** The exit policy and decoding: `{ rule, lambda }`, `{ full: true }`, beams... Default `{}`. */
  readonly caption?: CaptionOptions;
  /** Jobs held at once, captioned as one batch (an integer in 1-64). Default 8. */
  readonly concurrency?: number;
  /**
   * Cores the worker uses (1-64): encoder threads and sharp's (process-wide) concurrency.
   * Default: onnxruntime's and sharp's own defaults (one worker per core: give 1).
   */
  readonly threads?: number;
  /** What relative paths on the queue are relative to. Default ".". */
  readonly root?: string;
  /**
   * How long a hold on a job lasts without renewal, in ms (>= 1000): a dead worker's jobs go
   * back to the queue after about this long. Default 30000.
   */
  readonly lockMs?: number;
  /** Close (with REDIS_UNAVAILABLE) once Redis has been unreachable this long. Default: never. */
  readonly maxDisconnectSeconds?: number;
  /** A file rewritten every 2 s while connected, for a supervisor to watch. Default: none. */
  readonly heartbeat?: string;
  /** Told one line per event: a failed job, Redis lost and back, a worker error. Default: none. */
  readonly log?: (line: string) => void;
}

export interface CaptionWorker {
  /** The loaded captioner's model id, as the result lines name it. */
  readonly model: string;
  /**
   * Settles when the worker has stopped: resolves after `close()`, rejects with
   * REDIS_UNAVAILABLE when Redis stayed away past `maxDisconnectSeconds` (its jobs go back to
   * the queue when their holds expire).
   */
  readonly closed: Promise<void>;
  /** Takes no new job, finishes the jobs in hand, then disconnects; resolves when done. */
  close(): Promise<void>;
}

// Connection errors are reported once per state change by the watch, not per retry.
const CONNECTION_ERROR = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|Connection is closed/;

/**
 * Checks the options (INVALID_ARGUMENT), connects, loads the captioner (if given a path) and
 * starts taking jobs.
 */
export async function createCaptionWorker(options: CaptionWorkerOptions): Promise<CaptionWorker> {
  const queueName = checkQueueName(options.queue);
  const concurrency = checkInteger("concurrency", options.concurrency ?? 8, 1, 64);
  const lockMs = checkInteger("lockMs", options.lockMs ?? 30_000, 1000);
  const threads =
    options.threads === undefined ? undefined : checkInteger("threads", options.threads, 1, 64);
  if (options.maxDisconnectSeconds !== undefined)
    checkFiniteNumber("maxDisconnectSeconds", options.maxDisconnectSeconds, 0);
  const log = options.log ?? (() => undefined);
  const root = resolve(options.root ?? ".");
  const choice = options.caption ?? {};
  const redis = await connect(options.redis, { keepRetrying: true });
  if (threads !== undefined) sharp.concurrency(threads);
  const owned = typeof options.captioner === "string";
  let captioner: Captioner | undefined;
  let policy: Policy;
  try {
    captioner =
      typeof options.captioner === "string"
        ? await Captioner.load(options.captioner, {
            ...(threads !== undefined && { encoderThreads: threads }),
          })
        : options.captioner;
    policy = await captioner.policyFor(choice);
  } catch (error) {
    redis.disconnect();
    if (owned) await captioner?.dispose();
    throw error;
  }
  const model = captioner.model.manifest.id;
  const caption = batching(captioner, choice, concurrency);
  const k = keys(queueName);
  const worker = new Worker<ImageJob>(
    queueName,
    async (job: Job<ImageJob>) => {
      let r: CaptionResult;
      try {
        const path = isAbsolute(job.data.image) ? job.data.image : insideRoot(root, job.data.image);
        r = await caption(path);
      } catch (error) {
        // An image that cannot be read fails once, with its reason: retrying cannot help.
        if (error instanceof BeemError)
          throw new UnrecoverableError(
            JSON.stringify({ code: error.code, message: error.message }),
          );
        throw error;
      }
      const record = resultRecord(job.data.image, r, model, policy);
      await redis
        .multi()
        .hset(k.results, job.id!, JSON.stringify(record))
        .zadd(k.finished, Date.now(), job.id!)
        .exec();
      return true;
    },
    {
      connection: redis,
      concurrency,
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.floor(lockMs / 2)),
      maxStalledCount: 2,
    },
  );
  worker.on("failed", (job, error) => {
    if (job === undefined) return;
    const final =
      error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    log(
      `${job.data.image}: failed${final ? "" : `, will retry (attempt ${job.attemptsMade} of ${job.opts.attempts})`}: ${error.message}`,
    );
  });
  worker.on("error", (error) => {
    if (!CONNECTION_ERROR.test(error.message)) log(`worker error: ${error.message}`);
  });
  const watch = watchRedis(redis, {
    log,
    ...(options.maxDisconnectSeconds !== undefined && {
      maxDisconnectSeconds: options.maxDisconnectSeconds,
    }),
    ...(options.heartbeat !== undefined && { heartbeat: options.heartbeat }),
  });
  let released: Promise<void> | undefined;
  const release = () =>
    (released ??= (async () => {
      watch.stop();
      redis.disconnect();
      if (owned) await captioner.dispose();
    })());
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((done) => (finish = done));
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await worker.close();
      await release();
      finish();
    })());
  const closed = Promise.race([
    watch.lost.catch(async (error: unknown) => {
      // Redis gone too long: the jobs in hand go back to the queue when their holds expire.
      await Promise.race([
        worker.close(true).catch(() => undefined),
        new Promise((r) => setTimeout(r, 2000).unref()),
      ]);
      await release();
      throw error;
    }),
    finished,
  ]);
  closed.catch(() => undefined); // a service that does not wait for it is not crashed by it
  return { model, closed, close };
}
