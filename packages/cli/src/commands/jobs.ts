import { createWriteStream } from "node:fs";
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

const usage = `Usage: beem jobs add|work|status|results --redis URL --queue NAME [options]
  Captions a collection through a BullMQ queue on Redis that workers on many machines consume.
  beem jobs add --redis URL --queue NAME PATHS... | --list FILE [--root DIR]
      queue images (folders walked); --list: one path per line, relative to a root every
      worker sees (--root, default the list's folder; workers resolve them with their --root);
      a listed path leading outside the root is refused and nothing is queued
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
      waiting, active, done, failed, and images per second over the last minute
  beem jobs results --redis URL --queue NAME --out FILE.jsonl
      every finished image once: its caption, or its error
${POLICY_USAGE}
  --lock-ms N     how long a worker's hold on a job lasts without renewal: a job of a worker that
                  died goes back to the queue after about this long (default 30000)`;

const ATTEMPTS = 3;

async function add(
  io: CommandIo,
  queueName: string,
  url: string,
  paths: string[],
  list?: string,
  listRoot?: string,
) {
  let images: string[];
  let root = ".";
  if (list !== undefined) {
    if (paths.length > 0) throw new UsageError("Give paths or --list, not both");
    let text: string;
    try {
      text = await readFile(list, "utf8");
    } catch (cause) {
      throw new BeemError(
        "FILE_NOT_FOUND",
        `${list}: cannot read the list (${(cause as Error).message})`,
      );
    }
    images = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");
    root = resolve(listRoot ?? resolve(list, ".."));
    // Every listed path must stay inside the root the workers resolve it against.
    for (const image of images) insideRoot(root, image);
  } else {
    if (paths.length === 0) throw new UsageError(`Give images, folders or --list FILE\n${usage}`);
    images = expandImagePaths(paths);
  }
  const redis = await connect(url);
  const queue = openQueue(queueName, redis);
  try {
    // In chunks: each chunk's images are hashed a few at a time (never all in memory) and
    // added in one bulk call, all of its jobs or none; a failure says exactly how far it got.
    const CHUNK = 1000;
    let added = 0;
    for (let start = 0; start < images.length; start += CHUNK) {
      const chunk = images.slice(start, start + CHUNK);
      const ids: string[] = [];
      for (let i = 0; i < chunk.length; i += 16)
        ids.push(
          ...(await Promise.all(
            chunk
              .slice(i, i + 16)
              .map((image) => imageKey(isAbsolute(image) ? image : join(root, image))),
          )),
        );
      try {
        await queue.addBulk(
          chunk.map((image, i) => ({
            name: "caption",
            data: { image },
            opts: {
              jobId: ids[i]!,
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
          `queued the first ${added} of ${images.length} images` +
            (added > 0 ? ` (through ${images[added - 1]})` : "") +
            `, then Redis refused the next ${chunk.length}: ${(cause as Error).message}`,
          { cause },
        );
      }
      added += chunk.length;
    }
    io.stderr(`beem jobs: queued ${added} images on ${queueName}\n`);
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
    const [done, lastMinute] = await Promise.all([
      redis.hlen(k.results),
      redis.zcount(k.finished, now - 60_000, now),
    ]);
    const report = {
      waiting: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      done,
      failed: counts.failed ?? 0,
      imagesPerSecond: lastMinute / 60,
    };
    io.stdout(
      json
        ? JSON.stringify(report) + "\n"
        : `waiting ${report.waiting}, active ${report.active}, done ${report.done}, failed ${report.failed}; ${report.imagesPerSecond.toFixed(2)} images/s over the last minute\n`,
    );
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

async function results(io: CommandIo, queueName: string, url: string, out: string | undefined) {
  if (out === undefined) throw new UsageError("Give --out FILE.jsonl");
  const redis = await connect(url);
  const queue = openQueue(queueName, redis);
  const file = createWriteStream(out);
  const write = (line: string) =>
    new Promise<void>((ok) => (file.write(line + "\n") ? ok() : file.once("drain", ok)));
  let captions = 0;
  let failures = 0;
  try {
    const k = keys(queueName);
    let cursor = "0";
    do {
      const [next, entries] = await redis.hscan(k.results, cursor, "COUNT", 500);
      cursor = next;
      for (let i = 1; i < entries.length; i += 2) {
        await write(entries[i]!);
        captions++;
      }
    } while (cursor !== "0");
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
        await write(JSON.stringify(errorRecord(job.data.image, error)));
        failures++;
      }
    }
  } finally {
    await new Promise<void>((ok) => file.end(ok));
    await queue.close();
    redis.disconnect();
  }
  io.stderr(`beem jobs: ${captions} captions and ${failures} failures written to ${out}\n`);
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
      },
      usage,
    );
    const [action, ...rest] = positionals;
    const name = checkQueueName(values.queue);
    const url = values.redis;
    if (url === undefined) throw new UsageError(`Give --redis URL\n${usage}`);
    switch (action) {
      case "add":
        return add(io, name, url, rest, values.list, values.root);
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
