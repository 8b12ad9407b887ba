// beem jobs: the queue of @beem-ts/jobs from the command line (add, work, status, results).
import { resolve } from "node:path";
import {
  addImages,
  checkQueueName,
  createCaptionWorker,
  describeAdd,
  expandImagePaths,
  readImageList,
  readStatus,
  writeResults,
  type RedisOptions,
} from "@beem-ts/jobs";
import { options, integerOption, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import type { Command, CommandIo } from "../command.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultCaptionModel, policyChoice } from "../models.js";

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

type Values = Record<string, string | boolean | undefined>;
type Queue = { readonly queue: string; readonly redis: RedisOptions };

async function add(io: CommandIo, q: Queue, paths: string[], values: Values) {
  let given: string[];
  let root = ".";
  if (typeof values.list === "string") {
    if (paths.length > 0) throw new UsageError("Give paths or --list, not both");
    const listRoot = values.root as string | undefined;
    ({ images: given, root } = await readImageList(values.list, { root: listRoot }));
  } else {
    if (paths.length === 0) throw new UsageError(`Give images, folders or --list FILE\n${usage}`);
    given = expandImagePaths(paths, { onSkipped: (line) => io.stderr(`beem jobs: ${line}\n`) });
  }
  const counts = await addImages(given, { ...q, root, force: values.force === true });
  io.stderr(`beem jobs: ${describeAdd(counts, q.queue)}\n`);
}

async function work(io: CommandIo, q: Queue, values: Values) {
  const option = (name: string, fallback: number, min: number, max?: number) =>
    integerOption(values[name] as string | undefined, `--${name}`, fallback, min, max);
  const concurrency = option("concurrency", 8, 1, 64);
  const lockMs = option("lock-ms", 30_000, 1000);
  const maxDisconnectSeconds =
    values["max-disconnect-seconds"] === undefined
      ? undefined
      : option("max-disconnect-seconds", 0, 1, 86_400);
  const choice = await policyChoice(values as Parameters<typeof policyChoice>[0]);
  const worker = await createCaptionWorker({
    ...q,
    captioner: (values.model as string | undefined) ?? defaultCaptionModel(),
    caption: choice,
    concurrency,
    lockMs,
    threads: option("threads", 1, 1, 64),
    root: resolve((values.root as string | undefined) ?? "."),
    log: (line) => io.stderr(`beem jobs: ${line}\n`),
    ...(maxDisconnectSeconds !== undefined && { maxDisconnectSeconds }),
    ...(typeof values.heartbeat === "string" && { heartbeat: values.heartbeat }),
  });
  io.stderr(`beem jobs: working on ${q.queue} (concurrency ${concurrency})\n`);
  // SIGTERM or Ctrl-C: the jobs in hand finish, no new one is taken.
  const stop = () => {
    io.stderr("beem jobs: stopping after the jobs in hand\n");
    void worker.close();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await worker.closed;
}

async function status(io: CommandIo, q: Queue, json: boolean) {
  const s = await readStatus(q);
  io.stdout(
    json
      ? JSON.stringify(s) + "\n"
      : `waiting ${s.waiting}, active ${s.active}, done ${s.done}, failed ${s.failed} (${s.paths} paths); ${s.imagesPerSecond.toFixed(2)} images/s over the last minute\n`,
  );
}

async function results(io: CommandIo, q: Queue, out: string | undefined) {
  if (out === undefined) throw new UsageError("Give --out FILE.jsonl");
  const { captions, failed, pending } = await writeResults(out, q);
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
        ...options(
          "redis queue list root concurrency lock-ms max-disconnect-seconds heartbeat threads model out",
          "json force",
        ),
      },
      usage,
    );
    const [action, ...rest] = positionals;
    const queue = checkQueueName(values.queue, "--queue");
    const url = values.redis;
    if (url === undefined) throw new UsageError(`Give --redis URL\n${usage}`);
    const q: Queue = { queue, redis: { url, label: "--redis" } };
    switch (action) {
      case "add":
        return add(io, q, rest, values);
      case "work":
        return work(io, q, values);
      case "status":
        return status(io, q, values.json === true);
      case "results":
        return results(io, q, values.out);
      default:
        throw new UsageError(
          `Expected add, work, status or results but received ${JSON.stringify(action)}\n${usage}`,
        );
    }
  },
};
