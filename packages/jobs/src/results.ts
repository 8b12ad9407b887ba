// Reading a queue's results: one line per path added whose image is finished, its caption (the
// result of its content's job, shared by identical files) or its error.
import { errorRecord } from "./results-file.js";
import { openOutput } from "./output-files.js";
import { checkQueueName, connect, keys, openQueue } from "./queue.js";
import type { QueueOptions } from "./status.js";

/** A results line: `{ image, caption, tokens, ... }`, or `{ image, error: { code, message } }`. */
export type ResultLine = { readonly image: string } & Record<string, unknown>;

/** What `readResults` found: a line per finished path, and how many paths are not finished. */
export interface ResultsRead {
  readonly captions: number;
  readonly failed: number;
  readonly pending: number;
}

/** A stored result as the line of one of the paths that share it. */
function pathRecord(stored: string, image: string): ResultLine {
  const record = JSON.parse(stored) as Record<string, unknown>;
  // Results stored by 0.1 workers have the caption under `text` only.
  return { ...record, image, caption: record.caption ?? record.text };
}

/** The failed jobs' reasons, by job id. */
async function failures(queue: ReturnType<typeof openQueue>) {
  const reasons = new Map<string, { code: string; message: string }>();
  for (let start = 0; ; start += 500) {
    const failed = await queue.getFailed(start, start + 499);
    if (failed.length === 0) break;
    for (const job of failed) {
      let error: { code: string; message: string };
      try {
        error = JSON.parse(job.failedReason) as typeof error;
      } catch {
        error = { code: "INTERNAL", message: job.failedReason };
      }
      reasons.set(job.id!, error);
    }
  }
  return reasons;
}

/**
 * Every finished path's line, passed to `onLine` as it is read (500 paths per Redis call, never
 * all in memory); returns the counts.
 */
export async function readResults(
  options: QueueOptions,
  onLine: (line: ResultLine) => void | Promise<void>,
): Promise<ResultsRead> {
  const queueName = checkQueueName(options.queue);
  let captions = 0;
  let failed = 0;
  let pending = 0;
  const redis = await connect(options.redis);
  const queue = openQueue(queueName, redis);
  try {
    const k = keys(queueName);
    const reasons = await failures(queue);
    let cursor = "0";
    do {
      const [next, entries] = await redis.hscan(k.paths, cursor, "COUNT", 500);
      cursor = next;
      const paths = entries.filter((_, i) => i % 2 === 0);
      const ids = entries.filter((_, i) => i % 2 === 1);
      if (ids.length === 0) continue;
      const records = await redis.hmget(k.results, ...ids);
      for (const [i, image] of paths.entries()) {
        const record = records[i];
        const error = reasons.get(ids[i]!);
        if (record !== null && record !== undefined) {
          await onLine(pathRecord(record, image));
          captions++;
        } else if (error !== undefined) {
          await onLine(errorRecord(image, error));
          failed++;
        } else pending++;
      }
    } while (cursor !== "0");
  } finally {
    await queue.close();
    redis.disconnect();
  }
  return { captions, failed, pending };
}

/**
 * The results as a JSON Lines file, written whole (a temporary file renamed into place). The file
 * is opened first: a folder, a missing folder or a read-only one is refused (NOT_A_FILE,
 * WRITE_FAILED) before anything is read from Redis.
 */
export async function writeResults(path: string, options: QueueOptions): Promise<ResultsRead> {
  const output = await openOutput(path);
  try {
    const read = await readResults(options, (line) => output.write(JSON.stringify(line)));
    await output.commit();
    return read;
  } finally {
    await output.discard();
  }
}
