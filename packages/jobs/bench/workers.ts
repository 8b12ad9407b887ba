// Images per second of `beem jobs work` with 1 and with 2 worker processes on this machine:
// Debian's redis-server started on a free loopback port, --scenes held-out scenes rendered once,
// rounds alternating 1 and 2 workers (each round queues the scenes afresh), each rate measured
// from the first caption to the last. Usage: pnpm --filter @beem-ts/jobs bench:workers
// [--scenes 500] [--rounds 2] [--workers 2]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { median } from "@beem-ts/core";
import { Redis } from "ioredis";
import { queueKeys as keys } from "../src/index.js";
import { startRedis } from "../test/local-redis.js";

const { values } = parseArgs({
  options: {
    scenes: { type: "string", default: "500" },
    rounds: { type: "string", default: "2" },
    workers: { type: "string", default: "2" },
  },
});
// The beem command runs the workers, as an operator would (it drives this package).
const BIN = resolve(import.meta.dirname, "../../cli/bin/beem.js");
const dir = mkdtempSync(join(tmpdir(), "beem-bench-workers-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const redis = await startRedis(dir);
const url = redis.url;
const beem = (args: string[]) =>
  execFileSync(process.execPath, [BIN, ...args], { encoding: "utf8" });

const client = new Redis(url);
try {
  const count = Number(values.scenes);
  const images = join(dir, "images");
  beem(["scenes", "--count", String(count), "--seed", "1000", "--out", images]);
  const many = Number(values.workers);
  const rates: Record<number, number[]> = { 1: [], [many]: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const n of [1, many]) {
      const queue = `bench-${round}-${n}`;
      beem(["jobs", "add", "--redis", url, "--queue", queue, images]);
      const workers = Array.from({ length: n }, () =>
        spawn(process.execPath, [BIN, "jobs", "work", "--redis", url, "--queue", queue], {
          stdio: "ignore",
        }),
      );
      // Polled with one cheap Redis call (a `beem jobs status` process every 200 ms would
      // itself take a good part of a core from the workers).
      let first: [number, number] | undefined;
      let done = 0;
      while (done < count) {
        done = await client.hlen(keys(queue).results);
        if (first === undefined && done > 0) first = [performance.now(), done];
        await sleep(100);
      }
      const rate = (done - first![1]) / ((performance.now() - first![0]) / 1000);
      rates[n]!.push(rate);
      for (const w of workers) w.kill("SIGTERM");
      await Promise.all(workers.map((w) => new Promise((r) => w.on("exit", r))));
      console.error(
        `round ${round + 1}, ${n} worker${n === 1 ? "" : "s"}: ${rate.toFixed(2)} images/s`,
      );
    }
  }
  const ratios = rates[many]!.map((r, i) => r / rates[1]![i]!);
  console.log(
    JSON.stringify({
      scenes: count,
      oneWorker: rates[1],
      workers: many,
      manyWorkers: rates[many],
      ratioPerRound: ratios,
      medianRatio: median(ratios),
    }),
  );
} finally {
  client.disconnect();
  redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
