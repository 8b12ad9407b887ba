// A caption worker inside your own service: it takes images off a BullMQ queue on Redis (queued
// with `beem jobs add` or addImages), logs through the service's own logger, and on SIGTERM
// finishes the jobs in hand before the process ends.
//   REDIS_URL=redis://127.0.0.1:6379 QUEUE=photos pnpm --filter @beem-ts/examples jobs-worker
import { resolve } from "node:path";
import { createCaptionWorker } from "@beem-ts/jobs";

// The service's logger: here one JSON object per line on standard output.
const log = (message: string) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), service: "captions", message }));

const queue = process.env.QUEUE ?? "photos";
const worker = await createCaptionWorker({
  redis: { url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
  queue,
  captioner: resolve(import.meta.dirname, "../models/photo-caption"),
  caption: { rule: "beem-a", lambda: 0.05 },
  concurrency: 8,
  log,
});
log(`captioning ${queue} with ${worker.model}`);

// The service's shutdown: no new job is taken, the jobs in hand finish, then the worker closes.
process.once("SIGTERM", () => {
  log("SIGTERM: finishing the jobs in hand");
  void worker.close();
});
await worker.closed;
log("stopped");
