// beem jobs on a real Redis (Debian's redis-server, started on a free loopback port): many
// worker processes, one killed mid-run, every image captioned exactly once.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis, type LocalRedis } from "../../jobs/test/local-redis.js";
import { beem, scratchDir } from "./run-beem.js";

const BIN = resolve(import.meta.dirname, "../bin/beem.js");
const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem/manifest.json");
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;
if (!hasRedis) {
  if (process.env.CI === "true")
    throw new Error("redis-server is missing (apt-get install redis-server)");
  console.warn("SKIPPED beem jobs tests: no redis-server (apt-get install redis-server)");
}

interface Status {
  waiting: number;
  active: number;
  done: number;
  failed: number;
}

describe.runIf(hasRedis && existsSync(MODEL))(
  "beem jobs with real Redis and worker processes",
  () => {
    const dir = scratchDir();
    const images = join(dir, "images");
    let redis: LocalRedis | undefined;
    let url: string;
    const workers: ChildProcess[] = [];
    const status = async (queue: string): Promise<Status> =>
      JSON.parse(
        (await beem(["jobs", "status", "--redis", url, "--queue", queue, "--json"], dir)).stdout,
      );
    const startWorker = (queue: string, concurrency = 2) => {
      const child = spawn(
        process.execPath,
        [
          BIN,
          "jobs",
          "work",
          "--redis",
          url,
          "--queue",
          queue,
          "--concurrency",
          String(concurrency),
          "--lock-ms",
          "2000",
          // The scene captioner: the test's images are synthetic scenes.
          "--model",
          resolve(MODEL, ".."),
        ],
        { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
      );
      workers.push(child);
      return child;
    };
    const until = async (check: () => Promise<boolean>, ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (await check()) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error("timed out waiting");
    };

    beforeAll(async () => {
      redis = await startRedis(dir);
      url = redis.url;
      expect(
        (await beem(["scenes", "--count", "200", "--seed", "1000", "--out", images], dir)).status,
      ).toBe(0);
      expect(
        (
          await beem(
            [
              "scenes",
              "--count",
              "1",
              "--seed",
              "1001",
              "--format",
              "jpeg",
              "--out",
              join(dir, "jpeg"),
            ],
            dir,
          )
        ).status,
      ).toBe(0);
      const jpeg = readFileSync(join(dir, "jpeg", "scene-1001-0.jpg"));
      writeFileSync(join(dir, "truncated.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 3)));
      writeFileSync(join(dir, "notes.txt"), "not an image");
    }, 120_000);

    afterAll(() => {
      for (const w of workers) w.kill("SIGKILL");
      redis?.stop();
    });

    it("three workers, one killed with SIGKILL midway: every image exactly once, captions as one process gives them", async () => {
      const single = await beem(["caption", images, "--out", join(dir, "single.jsonl")], dir);
      expect(single.status, single.stderr).toBe(0);
      const expected = new Map(
        readFileSync(join(dir, "single.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((l) => {
            const r = JSON.parse(l) as { image: string; caption: string };
            return [r.image, r.caption];
          }),
      );
      expect(expected.size).toBe(200);
      const add = await beem(
        [
          "jobs",
          "add",
          "--redis",
          url,
          "--queue",
          "scenes",
          images,
          join(dir, "truncated.jpg"),
          join(dir, "notes.txt"),
        ],
        dir,
      );
      expect(add.status, add.stderr).toBe(0);
      expect(await status("scenes")).toMatchObject({ waiting: 202, active: 0, done: 0, failed: 0 });
      const [victim] = [startWorker("scenes"), startWorker("scenes"), startWorker("scenes")];
      await until(async () => (await status("scenes")).done >= 40, 60_000);
      victim!.kill("SIGKILL");
      await until(async () => {
        const s = await status("scenes");
        return s.done + s.failed === 202;
      }, 120_000);
      const final = await status("scenes");
      expect(final).toMatchObject({ waiting: 0, active: 0, done: 200, failed: 2 });
      const out = join(dir, "results.jsonl");
      expect(
        (await beem(["jobs", "results", "--redis", url, "--queue", "scenes", "--out", out], dir))
          .status,
      ).toBe(0);
      const lines = readFileSync(out, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { image: string; caption?: string; error?: { code: string } });
      expect(lines).toHaveLength(202);
      expect(new Set(lines.map((l) => l.image)).size).toBe(202);
      for (const l of lines) {
        if (l.error === undefined) expect(l.caption, l.image).toBe(expected.get(l.image));
      }
      const failed = lines
        .filter((l) => l.error !== undefined)
        .map((l) => [l.image.split("/").pop(), l.error!.code]);
      expect(failed.sort()).toEqual([
        ["notes.txt", "UNSUPPORTED_IMAGE"],
        ["truncated.jpg", "UNSUPPORTED_IMAGE"],
      ]);
    }, 300_000);

    it("SIGTERM lets the jobs in hand finish and takes no new one", async () => {
      const add = await beem(["jobs", "add", "--redis", url, "--queue", "term", images], dir);
      expect(add.status).toBe(0);
      const worker = startWorker("term", 4);
      const exited = new Promise<number | null>((ok) => worker.on("exit", (code) => ok(code)));
      await until(async () => (await status("term")).active > 0, 60_000);
      worker.kill("SIGTERM");
      expect(await exited).toBe(0);
      const s = await status("term");
      expect(s.active).toBe(0);
      expect(s.failed).toBe(0);
      expect(s.done).toBeGreaterThan(0);
      expect(s.waiting + s.done).toBe(200);
    }, 120_000);

    it("refuses an unreachable Redis, a bad queue name, a path outside the root and a missing list", async () => {
      const port = await freePort();
      const down = await beem(
        ["jobs", "status", "--redis", `redis://127.0.0.1:${port}`, "--queue", "q"],
        dir,
      );
      expect(down.status).toBe(1);
      expect(down.stderr).toMatch(/--redis redis:\/\/127\.0\.0\.1:\d+: cannot connect/);
      const bad = await beem(["jobs", "status", "--redis", url, "--queue", "a b"], dir);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/Expected --queue to be/);
      // A list with a path leading out of its root: nothing queued.
      writeFileSync(join(dir, "list.txt"), "images/scene-1000-0.png\n../../etc/passwd\n");
      const add = (list: string) =>
        beem(["jobs", "add", "--redis", url, "--queue", "listed", "--list", join(dir, list)], dir);
      const outside = await add("list.txt");
      expect(outside.status).toBe(1);
      expect(outside.stderr).toMatch(/\.\.\/\.\.\/etc\/passwd: outside the root/);
      expect(await status("listed")).toMatchObject({ waiting: 0, done: 0, failed: 0 });
      const missing = await add("nope.txt");
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/nope\.txt: cannot read the list/);
      // A good list, relative to its folder.
      writeFileSync(join(dir, "list.txt"), "images/scene-1000-0.png\nimages/scene-1000-1.png\n");
      const good = await add("list.txt");
      expect(good.status, good.stderr).toBe(0);
      expect(await status("listed")).toMatchObject({ waiting: 2 });
    }, 60_000);
  },
);
