// What queueing, working and reading results share: the Redis connection (failing fast, naming
// the URL), the queue, and the keys the results live under. A caption is keyed by the job id, which is the
// image's content hash: a job retried after a worker died writes the same key again, so no
// image is captioned into two results, and files with the same bytes share the work. Every path
// added is recorded with its job id, so that each path gets its own results line.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { JobsError } from "./errors.js";

const QUEUE_NAME = /^[\w.-]{1,64}$/;

/**
 * `name` if it is a queue name (1-64 letters, digits, ".", "-" or "_"), else INVALID_ARGUMENT;
 * `label` is how the message names it (default "queue"; the CLI says "--queue").
 */
export function checkQueueName(name: string | undefined, label = "queue"): string {
  if (name === undefined || !QUEUE_NAME.test(name))
    throw new JobsError(
      "INVALID_ARGUMENT",
      `Expected ${label} to be 1-64 letters, digits, ".", "-" or "_" but received ${JSON.stringify(name)}`,
    );
  return name;
}

/** Longest wait between reconnection attempts of a connection that keeps retrying. */
export const MAX_RECONNECT_DELAY_MS = 5000;

/** Where the queue lives. */
export interface RedisOptions {
  /** The Redis URL, e.g. `redis://127.0.0.1:6379` or `redis://host:6379/3` (database 3). Required. */
  readonly url: string;
  /** How error messages name the URL (default "Redis"; the CLI says "--redis"). */
  readonly label?: string;
}

/**
 * A connection to the Redis at `url`, ready, or INVALID_ARGUMENT naming the URL. A short command
 * gives up reconnecting after 20 tries (its command then fails); a worker (`keepRetrying`)
 * never does, backing off to `MAX_RECONNECT_DELAY_MS` between tries.
 */
export async function connect(
  redisOptions: RedisOptions,
  options: { keepRetrying?: boolean } = {},
): Promise<Redis> {
  const { url, label = "Redis" } = redisOptions;
  const db = databaseIndex(url, label);
  let redis: Redis;
  try {
    redis = new Redis(url, {
      maxRetriesPerRequest: null, // what BullMQ's workers need
      lazyConnect: true,
      retryStrategy: options.keepRetrying
        ? (times) => Math.min(times * 200, MAX_RECONNECT_DELAY_MS)
        : (times) => (times > 20 ? null : Math.min(times * 200, 2000)),
    });
  } catch (cause) {
    throw new JobsError(
      "INVALID_ARGUMENT",
      `${label} ${url}: not a Redis URL (${(cause as Error).message})`,
    );
  }
  redis.on("error", () => undefined); // reported by connect() or by the command that fails
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("no answer within 5 s")), 5000).unref(),
      ),
    ]);
  } catch (cause) {
    redis.disconnect();
    throw new JobsError(
      "INVALID_ARGUMENT",
      `${label} ${url}: cannot connect (${(cause as Error).message})`,
    );
  }
  // ioredis selects the URL's database while connecting but only reports a refusal as an
  // event, carrying on in database 0: selected again here, so that a refusal stops the command.
  if (db !== undefined) {
    try {
      await redis.select(db);
    } catch (cause) {
      redis.disconnect();
      throw new JobsError(
        "INVALID_ARGUMENT",
        `${label} ${url}: cannot use database ${db} (${(cause as Error).message})`,
      );
    }
  }
  return redis;
}

/** The database index a Redis URL names (`redis://host:6379/3` -> 3), if any. */
function databaseIndex(url: string, label: string): number | undefined {
  let path: string;
  try {
    path = new URL(url).pathname.replace(/^\//, "");
  } catch {
    return undefined; // not a URL: ioredis has refused it already
  }
  if (path === "") return undefined;
  if (!/^\d+$/.test(path))
    throw new JobsError(
      "INVALID_ARGUMENT",
      `${label} ${url}: expected a database index (a number) after the port but received ${JSON.stringify(path)}`,
    );
  return Number(path);
}

export interface ImageJob {
  /** The image's path as it was added (relative ones resolve against the worker's root). */
  readonly image: string;
}

export function openQueue(name: string, redis: Redis): Queue<ImageJob> {
  return new Queue<ImageJob>(name, { connection: redis });
}

/** Hash of the image's content (the job id and the result's key); of its path if unreadable. */
export async function imageKey(path: string): Promise<string> {
  try {
    return (
      "img-" +
      createHash("sha256")
        .update(await readFile(path))
        .digest("hex")
        .slice(0, 40)
    );
  } catch {
    return "path-" + createHash("sha256").update(path).digest("hex").slice(0, 40);
  }
}

export const keys = (queue: string) => ({
  /** Hash: job id (content hash) -> result JSON (its `image` is the path that was captioned). */
  results: `beem:${queue}:results`,
  /** Hash: image path as added -> job id: the paths whose line that result gives. */
  paths: `beem:${queue}:paths`,
  /** Sorted set: job id by the time it finished (for the rate). */
  finished: `beem:${queue}:finished`,
});

/** `path` resolved against `root`, refused (naming it) when it leads outside the root. */
export function insideRoot(root: string, path: string): string {
  const full = resolve(root, path);
  const rel = relative(root, full);
  if (rel.startsWith("..") || isAbsolute(rel))
    throw new JobsError("INVALID_INPUT", `${path}: outside the root ${root}`);
  return full;
}
