import { isAbsolute, join, resolve } from "node:path";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import { BeemError } from "@beem-ts/core";
import { Captioner, type CaptionOptions, type CaptionResult } from "@beem-ts/caption";
import { integerOption, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import type { Command, CommandIo } from "../command.js";
import { expandImagePaths } from "../image-files.js";
import {
  checkQueueName,
  connect,
  imageKey,
  insideRoot,
  keys,
  openQueue,
  type ImageJob,
} from "../jobs-queue.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultCaptionModel, policyChoice } from "../models.js";
import { errorRecord, resultRecord } from "../results-file.js";
import { watchRedis } from "../redis-watch.js";
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { checkNotSpecial, openOutput, stripBom } from "../files.js";

const usage = `Usage: beem jobs add|work|status|results --redis URL --queue NAME [options]
  Captions a collection through a BullMQ queue on Redis that workers on many machines consume.
  beem jobs add --redis URL --queue NAME PATHS... | --list FILE [--root DIR] [--force]
      queue images (folders walked); --list: one path per line, relative to a root every
      worker sees (--root, default the list's folder; workers resolve them with their --root);
      a listed path leading outside the root is refused and nothing is queued. Files with the
      same bytes are captioned once and each path gets its line; images already captioned (or
      failed) on this queue are not captioned again unless --force is given
  beem jobs work --redis URL --queue NAME [--concurrency 8] [--threads 1] [--root DIR] [policy options] [--model DIR]
                 [--max-disconnect-seconds S] [--heartbeat FILE]
      caption queued images until stopped (SIGTERM: the jobs in hand finish, no new one is
      taken); the jobs a worker holds are captioned as one batch; --threads: cores one worker
      uses (image decoding and the encoder; default 1: run one worker per core)
      A lost Redis connection is retried without end (backoff up to 5 s; one line when lost,
      one when back); --max-disconnect-seconds S: exit 1 instead once it has been lost S s.
      --heartbeat FILE: rewritten every 2 s while connected to Redis (a supervisor restarts
      the worker when its modification time grows old)
  beem jobs status --redis URL --queue NAME [--json]
      waiting, active, done, failed (images, by content), the paths added, and images per
      second over the last minute
  beem jobs results --redis URL --queue NAME --out FILE.jsonl
      one line per path added whose image is finished: its caption, or its error
${POLICY_USAGE}
  --lock-ms N     how long a worker's hold on a job lasts without renewal: a job of a worker that
                  died goes back to the queue after about this long (default 30000)`;

const ATTEMPTS = 3;

/** What `jobs add` did with each path it was given. */
interface AddCounts {
  /** Paths whose image was put on the queue (one job per distinct content). */
  queued: number;
  /** Paths with the same bytes as a path this add queued: captioned once, a line each. */
  sameContent: number;
  /** Paths whose image was on the queue already (waiting or in a worker's hands). */
  alreadyQueued: number;
  /** Paths whose image was captioned (or failed) already: not captioned again without --force. */
  alreadyDone: number;
  /** Paths given more than once (counted once). */
  repeated: number;
}

function describeAdd(c: AddCounts, queueName: string): string {
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

async function listedImages(list: string, listRoot: string | undefined) {
  checkNotSpecial(list); // a missing list is reported below, as a list
  let text: string;
  try {
    text = stripBom(await readFile(list, "utf8"));
  } catch (cause) {
    throw new BeemError(
      "FILE_NOT_FOUND",
      `${list}: cannot read the list (${(cause as Error).message})`,
      { cause },
    );
  }
  const images = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const root = resolve(listRoot ?? resolve(list, ".."));
  // Every listed path must stay inside the root the workers resolve it against.
  for (const image of images) insideRoot(root, image);
  return { images, root };
}

async function add(
  io: CommandIo,
  queueName: string,
  url: string,
  paths: string[],
  options: { list?: string | undefined; root?: string | undefined; force: boolean },
) {
  let given: string[];
  let root = ".";
  if (options.list !== undefined) {
    if (paths.length > 0) throw new UsageError("Give paths or --list, not both");
    ({ images: given, root } = await listedImages(options.list, options.root));
  } else {
    if (paths.length === 0) throw new UsageError(`Give images, folders or --list FILE\n${usage}`);
    given = expandImagePaths(paths, { onSkipped: (line) => io.stderr(`beem jobs: ${line}\n`) });
  }
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
  const redis = await connect(url);
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
          if (finished && !options.force) counts.alreadyDone++;
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
        throw new BeemError(
          "WRITE_FAILED",
          `${describeAdd(counts, queueName)} (the first ${start} of ${images.length} paths` +
            (start > 0 ? `, through ${images[start - 1]}` : "") +
            `), then Redis refused the next ${chunk.length}: ${(cause as Error).message}`,
          { cause },
        );
      }
      counts.queued += jobs.length;
    }
    io.stderr(`beem jobs: ${describeAdd(counts, queueName)}\n`);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** The jobs a worker holds, captioned together: those that arrive within a few ms share a batch. */
function batching(captioner: Captioner, options: CaptionOptions, max: number) {
  type Pending = {
    path: string;
    resolve: (r: CaptionResult) => void;
    reject: (e: unknown) => void;
  };
  let pending: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = async () => {
    timer = undefined;
    const batch = pending;
    pending = [];
    try {
      const results = await captioner.captionBatch(
        batch.map((p) => p.path),
        options,
      );
      results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r.result) : batch[i]!.reject(r.error)));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  };
  return (path: string) =>
    new Promise<CaptionResult>((resolve, reject) => {
      pending.push({ path, resolve, reject });
      if (pending.length >= max) {
        clearTimeout(timer);
        void flush();
      } else timer ??= setTimeout(() => void flush(), 5);
    });
}

async function work(
  io: CommandIo,
  queueName: string,
  url: string,
  values: Record<string, string | boolean | undefined>,
) {
  const concurrency = integerOption(
    values.concurrency as string | undefined,
    "--concurrency",
    8,
    1,
    64,
  );
  const lockMs = integerOption(values["lock-ms"] as string | undefined, "--lock-ms", 30_000, 1000);
  const root = resolve((values.root as string | undefined) ?? ".");
  const maxDisconnect =
    values["max-disconnect-seconds"] === undefined
      ? undefined
      : integerOption(
          values["max-disconnect-seconds"] as string,
          "--max-disconnect-seconds",
          0,
          1,
          86_400,
        );
  const choice = await policyChoice(values as Parameters<typeof policyChoice>[0]);
  const redis = await connect(url, { keepRetrying: true });
  // One core per worker: the encoder on one thread and sharp on one (per-layer graphs already
  // run on one), so that N workers on an N-core machine do not fight over cores.
  const threads = integerOption(values.threads as string | undefined, "--threads", 1, 1, 64);
  sharp.concurrency(threads);
  const captioner = await Captioner.load(
    (values.model as string | undefined) ?? defaultCaptionModel(),
    { encoderThreads: threads },
  );
  const policy = await captioner.policyFor(choice);
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
      // Keyed by the job id (the content hash): a retried job writes the same entry again.
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
    io.stderr(
      `beem jobs: ${job.data.image}: failed${final ? "" : `, will retry (attempt ${job.attemptsMade} of ${job.opts.attempts})`}: ${error.message}\n`,
    );
  });
  // Connection errors are reported once per state change by the watch, not per retry.
  const connectionError = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|Connection is closed/;
  worker.on("error", (error) => {
    if (!connectionError.test(error.message))
      io.stderr(`beem jobs: worker error: ${error.message}\n`);
  });
  const watch = watchRedis(redis, {
    log: (line) => io.stderr(`beem jobs: ${line}\n`),
    ...(maxDisconnect !== undefined && { maxDisconnectSeconds: maxDisconnect }),
    ...(typeof values.heartbeat === "string" && { heartbeat: values.heartbeat }),
  });
  io.stderr(`beem jobs: working on ${queueName} (concurrency ${concurrency})\n`);
  try {
    await Promise.race([
      watch.lost,
      new Promise<void>((done) => {
        const stop = () => {
          io.stderr("beem jobs: stopping after the jobs in hand\n");
          void worker.close().then(done);
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      }),
    ]);
  } catch (error) {
    // Redis gone too long: the jobs in hand go back to the queue when their locks expire.
    await Promise.race([
      worker.close(true).catch(() => undefined),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
    redis.disconnect();
    await captioner.dispose();
    throw error;
  } finally {
    watch.stop();
  }
  await captioner.dispose();
  redis.disconnect();
}

async function status(io: CommandIo, queueName: string, url: string, json: boolean) {
  const redis = await connect(url);
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
    const report = {
      waiting: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      done,
      failed: counts.failed ?? 0,
      imagesPerSecond: lastMinute / 60,
      /** Paths added (files with the same bytes are one job: waiting + active + done + failed). */
      paths,
    };
    io.stdout(
      json
        ? JSON.stringify(report) + "\n"
        : `waiting ${report.waiting}, active ${report.active}, done ${report.done}, failed ${report.failed} (${report.paths} paths); ${report.imagesPerSecond.toFixed(2)} images/s over the last minute\n`,
    );
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** A stored result as the line of one of the paths that share it. */
function pathRecord(stored: string, image: string): Record<string, unknown> {
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

async function results(io: CommandIo, queueName: string, url: string, out: string | undefined) {
  if (out === undefined) throw new UsageError("Give --out FILE.jsonl");
  // The file is opened (and a folder, a missing folder or a read-only one refused) before
  // anything is read from Redis, and written whole: a temporary file renamed into place.
  const output = await openOutput(out);
  let captions = 0;
  let failed = 0;
  let pending = 0;
  try {
    const redis = await connect(url);
    const queue = openQueue(queueName, redis);
    try {
      const k = keys(queueName);
      const reasons = await failures(queue);
      // One line per path added: the result of its content's job (shared by identical files).
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
            await output.write(JSON.stringify(pathRecord(record, image)));
            captions++;
          } else if (error !== undefined) {
            await output.write(JSON.stringify(errorRecord(image, error)));
            failed++;
          } else pending++;
        }
      } while (cursor !== "0");
    } finally {
      await queue.close();
      redis.disconnect();
    }
    await output.commit();
  } finally {
    await output.discard();
  }
  io.stderr(
    `beem jobs: ${captions} captions and ${failed} failures written to ${out}` +
      (pending > 0 ? ` (${pending} images not finished yet)` : "") +
      "\n",
  );
}

export const jobsCommand: Command = {
  name: "jobs",
  summary: "caption a collection through a BullMQ queue on Redis (add, work, status, results)",
  usage,
  async run(argv, io) {
    const { values, positionals } = parse(
      argv,
      {
        ...POLICY_OPTIONS,
        redis: { type: "string" },
        queue: { type: "string" },
        list: { type: "string" },
        root: { type: "string" },
        concurrency: { type: "string" },
        "lock-ms": { type: "string" },
        "max-disconnect-seconds": { type: "string" },
        heartbeat: { type: "string" },
        threads: { type: "string" },
        model: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean" },
        force: { type: "boolean" },
      },
      usage,
    );
    const [action, ...rest] = positionals;
    const name = checkQueueName(values.queue);
    const url = values.redis;
    if (url === undefined) throw new UsageError(`Give --redis URL\n${usage}`);
    switch (action) {
      case "add":
        return add(io, name, url, rest, {
          list: values.list,
          root: values.root,
          force: values.force === true,
        });
      case "work":
        return work(io, name, url, values);
      case "status":
        return status(io, name, url, values.json === true);
      case "results":
        return results(io, name, url, values.out);
      default:
        throw new UsageError(
          `Expected add, work, status or results but received ${JSON.stringify(action)}\n${usage}`,
        );
    }
  },
};
