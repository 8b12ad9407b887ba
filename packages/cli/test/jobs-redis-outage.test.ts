// beem jobs work when Redis goes away: a worker reconnects however long it takes (one line when
// the connection is lost, one when it is back) and the jobs finish; with
// --max-disconnect-seconds it exits 1 instead, for a supervisor to restart it. A real
// redis-server, SIGKILLed and restarted on the same port and data folder (appendonly yes).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startRedis, type LocalRedis } from "../../jobs/test/local-redis.js";
import { beem, scratchDir } from "./run-beem.js";

const BIN = resolve(import.meta.dirname, "../bin/beem.js");
const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem");
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(hasRedis && existsSync(join(MODEL, "manifest.json")))(
  "beem jobs work through a Redis outage",
  () => {
    const dir = scratchDir();
    const started: { redis: LocalRedis[]; workers: ChildProcess[] } = { redis: [], workers: [] };
    afterAll(() => {
      for (const w of started.workers) w.kill("SIGKILL");
      for (const r of started.redis) r.stop();
    });
    const worker = (url: string, queue: string, extra: string[]) => {
      const child = spawn(
        process.execPath,
        [BIN, "jobs", "work", "--redis", url, "--queue", queue, "--model", MODEL].concat([
          "--concurrency",
          "2",
          "--lock-ms",
          "2000",
          ...extra,
        ]),
        { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
      );
      started.workers.push(child);
      let err = "";
      child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)));
      const until = async (pattern: RegExp, ms: number) => {
        for (const end = Date.now() + ms; Date.now() < end; await sleep(100))
          if (pattern.test(err)) return;
        throw new Error(`no ${String(pattern)} within ${ms} ms:\n${err}`);
      };
      return { child, exited, stderr: () => err, until };
    };

    it("Redis killed for longer than the reconnect backoff, then restarted: the same worker finishes every job", async () => {
      const data = join(dir, "durable");
      let redis = await startRedis(scratchDirIn(data), { durable: true });
      started.redis.push(redis);
      const images = join(dir, "images");
      expect(
        (await beem(["scenes", "--count", "30", "--seed", "7", "--out", images], dir)).status,
      ).toBe(0);
      const add = await beem(["jobs", "add", "--redis", redis.url, "--queue", "q", images], dir);
      expect(add.status, add.stderr).toBe(0);
      const heartbeat = join(dir, "heartbeat.json");
      const w = worker(redis.url, "q", ["--heartbeat", heartbeat]);
      await w.until(/working on q/, 60_000);
      await redis.kill();
      await w.until(/lost the connection to Redis; reconnecting until it is back/, 10_000);
      // Down for 7 s, longer than the longest wait between tries (5 s): no heartbeat meanwhile.
      await sleep(7000);
      expect(Date.now() - statSync(heartbeat).mtimeMs).toBeGreaterThan(4000);
      expect(w.child.exitCode).toBeNull();
      redis = await startRedis(data, { durable: true, port: redis.port });
      started.redis.push(redis);
      await w.until(/connected to Redis again after \d+\.\d s/, 20_000);
      let done = 0;
      let last = "";
      for (const end = Date.now() + 60_000; Date.now() < end && done < 30; await sleep(500)) {
        const s = await beem(
          ["jobs", "status", "--redis", redis.url, "--queue", "q", "--json"],
          dir,
        );
        last = s.stdout + s.stderr;
        done = (JSON.parse(s.stdout) as { done: number }).done;
      }
      expect(done, w.stderr() + last).toBe(30);
      expect(Date.now() - statSync(heartbeat).mtimeMs).toBeLessThan(4000);
      // One line per state change, not one per retry.
      expect(w.stderr().match(/lost the connection/g)).toHaveLength(1);
      expect(w.stderr().match(/connected to Redis again/g)).toHaveLength(1);
      w.child.kill("SIGTERM");
      expect(await w.exited).toBe(0);
    }, 180_000);

    it("--max-disconnect-seconds: exits 1 with one line saying why once Redis stays away that long", async () => {
      const redis = await startRedis(scratchDirIn(join(dir, "brief")));
      started.redis.push(redis);
      const w = worker(redis.url, "gone", ["--max-disconnect-seconds", "2"]);
      await w.until(/working on gone/, 60_000);
      const killedAt = Date.now();
      await redis.kill();
      const code = await w.exited;
      expect(code, w.stderr()).toBe(1);
      expect(Date.now() - killedAt).toBeLessThan(15_000);
      expect(w.stderr()).toMatch(/exiting if not back within 2 s/);
      expect(w.stderr()).toMatch(
        /error \[REDIS_UNAVAILABLE\]: Redis unreachable for 2 s \(--max-disconnect-seconds\)/,
      );
      expect(w.stderr()).not.toMatch(/\n\s+at /);
    }, 120_000);

    it("refuses a --max-disconnect-seconds that is not a whole number of seconds", async () => {
      const r = await beem(
        [
          "jobs",
          "work",
          "--redis",
          "redis://127.0.0.1:1",
          "--queue",
          "q",
          "--max-disconnect-seconds",
          "soon",
        ],
        dir,
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--max-disconnect-seconds/);
    });
  },
);

function scratchDirIn(path: string): string {
  spawnSync("mkdir", ["-p", path]);
  return path;
}
