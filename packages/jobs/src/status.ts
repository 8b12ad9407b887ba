// How far a queue has got: jobs by state, the paths added and the recent rate.
import { checkQueueName, connect, keys, openQueue, type RedisOptions } from "./queue.js";

export interface QueueOptions {
  /** The Redis the queue lives in. Required. */
  readonly redis: RedisOptions;
  /** The queue's name. Required. */
  readonly queue: string;
}

export interface QueueStatus {
  /** Jobs waiting (delayed for a retry and prioritised included). */
  readonly waiting: number;
  /** Jobs in a worker's hands. */
  readonly active: number;
  /** Images captioned (by content: files with the same bytes are one). */
  readonly done: number;
  /** Images that failed for good. */
  readonly failed: number;
  /** Images finished per second over the last minute. */
  readonly imagesPerSecond: number;
  /** Paths added (files with the same bytes are one job: waiting + active + done + failed). */
  readonly paths: number;
}

/** The queue's counts, read from Redis in one go. */
export async function readStatus(options: QueueOptions): Promise<QueueStatus> {
  const queueName = checkQueueName(options.queue);
  const redis = await connect(options.redis);
  const queue = openQueue(queueName, redis);
  try {
    const counts = await queue.getJobCounts(
      "waiting",
      "active",
      "delayed",
      "prioritized",
      "failed",
    );
    const k = keys(queueName);
    const now = Date.now();
    const [done, paths, lastMinute] = await Promise.all([
      redis.hlen(k.results),
      redis.hlen(k.paths),
      redis.zcount(k.finished, now - 60_000, now),
    ]);
    return {
      waiting: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      done,
      failed: counts.failed ?? 0,
      imagesPerSecond: lastMinute / 60,
      paths,
    };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
