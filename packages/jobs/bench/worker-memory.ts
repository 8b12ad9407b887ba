// Resident memory of one `beem jobs work` process over many jobs: --jobs distinct held-out
// scenes (default 5,000) queued on Debian's redis-server (a free loopback port), the worker's RSS
// read from /proc every second; reports it after the first tenth of the jobs (warm) and at the
// end. Usage: pnpm --filter @beem-ts/jobs bench:worker-memory [--jobs 5000]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { queueKeys as keys } from "../src/index.js";
import { startRedis } from "../test/local-redis.js";

const { values } = parseArgs({ options: { jobs: { type: "string", default: "5000" } } });
const count = Number(values.jobs);
// The beem command runs the workers, as an operator would (it drives this package).
const BIN = resolve(import.meta.dirname, "../../cli/bin/beem.js");
const dir = mkdtempSync(join(tmpdir(), "beem-bench-memory-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const redis = await startRedis(dir);
const url = redis.url;

const client = new Redis(url);
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
try {
  const images = join(dir, "images");
  console.error(`rendering ${count} scenes`);
  execFileSync(
    process.execPath,
    [BIN, "scenes", "--count", String(count), "--seed", "1000", "--out", images],
    { stdio: "ignore" },
  );
  execFileSync(
    process.execPath,
    [BIN, "jobs", "add", "--redis", url, "--queue", "memory", images],
    { stdio: "ignore" },
  );
  const worker = spawn(
    process.execPath,
    [BIN, "jobs", "work", "--redis", url, "--queue", "memory"],
    { stdio: "ignore" },
  );
  const samples: { done: number; rssMb: number }[] = [];
  let done = 0;
  while (done < count) {
    await sleep(1000);
    done = await client.hlen(keys("memory").results);
    samples.push({ done, rssMb: rssMb(worker.pid!) });
    console.error(`${done}/${count} done, worker RSS ${samples.at(-1)!.rssMb.toFixed(0)} MB`);
  }
  const warm = samples.find((s) => s.done >= count / 10)!;
  const last = samples.at(-1)!;
  worker.kill("SIGTERM");
  await new Promise((r) => worker.on("exit", r));
  console.log(
    JSON.stringify({
      jobs: count,
      warmRssMb: warm.rssMb,
      warmAfterJobs: warm.done,
      finalRssMb: last.rssMb,
      growthMb: last.rssMb - warm.rssMb,
      peakRssMb: Math.max(...samples.map((s) => s.rssMb)),
    }),
  );
} finally {
  client.disconnect();
  redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
