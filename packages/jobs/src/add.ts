// Queueing a collection: each image's job id is the hash of its content, so that files with the
// same bytes are captioned once (each path still gets its line) and adding again does not
// caption again what is queued or done.
import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { JobsError } from "./errors.js";
import { checkNotSpecial, stripBom } from "@beem-ts/runtime";
import { checkQueueName, connect, imageKey, insideRoot, keys, openQueue } from "./queue.js";
import type { RedisOptions } from "./queue.js";

/** How often a job is tried before it fails (an unreadable image fails at once). */
export const ATTEMPTS = 3;

/** What `addImages` did with each path it was given. */
export interface AddCounts {
  /** Paths whose image was put on the queue (one job per distinct content). */
  queued: number;
  /** Paths with the same bytes as a path this add queued: captioned once, a line each. */
  sameContent: number;
  /** Paths whose image was on the queue already (waiting or in a worker's hands). */
  alreadyQueued: number;
  /** Paths whose image was captioned (or failed) already: not captioned again without `force`. */
  alreadyDone: number;
  /** Paths given more than once (counted once). */
  repeated: number;
}

/** One line saying what an add did, e.g. `queued 3 images on archive; 1 already queued`. */
export function describeAdd(c: AddCounts, queueName: string): string {
  const parts = [
    c.sameContent > 0 &&
      `${c.sameContent} with the same content as another (captioned once, a line each)`,
    c.alreadyQueued > 0 && `${c.alreadyQueued} already queued`,
    c.alreadyDone > 0 && `${c.alreadyDone} already done (--force captions them again)`,
    c.repeated > 0 && `${c.repeated} given twice (counted once)`,
  ].filter((p): p is string => typeof p === "string");
  return (
    `queued ${c.queued} images on ${queueName}` + (parts.length > 0 ? `; ${parts.join(", ")}` : "")
  );
}

/**
 * The paths of a list file (one per line, blank lines skipped), relative to `root` (default: the
 * list's folder); a path leading outside the root is INVALID_INPUT, and nothing is returned.
 */
export async function readImageList(
  list: string,
  options: { readonly root?: string | undefined } = {},
): Promise<{ images: string[]; root: string }> {
  checkNotSpecial(list); // a missing list is reported below, as a list
  let text: string;
  try {
    text = stripBom(await readFile(list, "utf8"));
  } catch (cause) {
    throw new JobsError(
      "FILE_NOT_FOUND",
      `${list}: cannot read the list (${(cause as Error).message})`,
      { cause },
    );
  }
  const images = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const root = resolve(options.root ?? resolve(list, ".."));
  // Every listed path must stay inside the root the workers resolve it against.
  for (const image of images) insideRoot(root, image);
  return { images, root };
}

export interface AddImagesOptions {
  /** The Redis the queue lives in. Required. */
  readonly redis: RedisOptions;
  /** The queue's name (1-64 letters, digits, ".", "-", "_"). Required. */
  readonly queue: string;
  /** What relative paths are relative to, here (workers use their own root). Default ".". */
  readonly root?: string;
  /** Caption again images already captioned or failed on this queue. Default false. */
  readonly force?: boolean;
}

/**
 * Puts the images on the queue, one job per distinct content, and records each path with its
 * job (so that `readResults` gives each path its line). A FIFO or device among them is refused
 * (NOT_A_FILE) before anything is queued; Redis refusing a write is WRITE_FAILED, saying how far
 * the add got.
 */
export async function addImages(
  given: readonly string[],
  options: AddImagesOptions,
): Promise<AddCounts> {
  const queueName = checkQueueName(options.queue);
  const root = options.root ?? ".";
  const images = [...new Set(given)];
  const fileOf = (image: string) => (isAbsolute(image) ? image : join(root, image));
  // A FIFO or a device would be read forever when hashed: refused before anything is queued.
  for (const image of images) checkNotSpecial(fileOf(image));
  const counts: AddCounts = {
    queued: 0,
    sameContent: 0,
    alreadyQueued: 0,
    alreadyDone: 0,
    repeated: given.length - images.length,
  };
  const redis = await connect(options.redis);
  const queue = openQueue(queueName, redis);
  const k = keys(queueName);
  const queuedNow = new Set<string>(); // the jobs this add queued
  try {
    // In chunks: each chunk's images are hashed a few at a time (never all in memory), each
    // path recorded with its job id, and the new jobs added in one bulk call, all of them or
    // none; a failure says exactly how far it got.
    const CHUNK = 1000;
    for (let start = 0; start < images.length; start += CHUNK) {
      const chunk = images.slice(start, start + CHUNK);
      const ids: string[] = [];
      for (let i = 0; i < chunk.length; i += 16)
        ids.push(
          ...(await Promise.all(chunk.slice(i, i + 16).map((image) => imageKey(fileOf(image))))),
        );
      const jobs: { image: string; id: string }[] = [];
      try {
        const [captioned, states] = await Promise.all([
          redis.hmget(k.results, ...ids),
          Promise.all(ids.map((id) => queue.getJobState(id))),
        ]);
        for (const [i, image] of chunk.entries()) {
          const id = ids[i]!;
          const state = states[i]!;
          const finished = captioned[i] !== null || state === "failed" || state === "completed";
          if (finished && options.force !== true) counts.alreadyDone++;
          else if (queuedNow.has(id)) counts.sameContent++;
          else if (!finished && state !== "unknown") counts.alreadyQueued++;
          else {
            if (finished) {
              await redis.hdel(k.results, id);
              await queue.remove(id);
            }
            jobs.push({ image, id });
            queuedNow.add(id);
          }
        }
        await redis.hset(k.paths, Object.fromEntries(chunk.map((image, i) => [image, ids[i]!])));
        await queue.addBulk(
          jobs.map(({ image, id }) => ({
            name: "caption",
            data: { image },
            opts: {
              jobId: id,
              attempts: ATTEMPTS,
              backoff: { type: "exponential", delay: 1000 },
              removeOnComplete: true,
              removeOnFail: false,
            },
          })),
        );
      } catch (cause) {
        throw new JobsError(
          "WRITE_FAILED",
          `${describeAdd(counts, queueName)} (the first ${start} of ${images.length} paths` +
            (start > 0 ? `, through ${images[start - 1]}` : "") +
            `), then Redis refused the next ${chunk.length}: ${(cause as Error).message}`,
          { cause },
        );
      }
      counts.queued += jobs.length;
    }
    return counts;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
