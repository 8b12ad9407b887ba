// beem jobs results keyed by path, on a real Redis: files with the same bytes captioned once but
// each given its own line, `jobs add` counting truthfully, a finished collection not captioned
// again unless --force, and the database index of a Redis URL honoured.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type LocalRedis } from "../../jobs/test/local-redis.js";
import { beem, scratchDir } from "./run-beem.js";

const BIN = resolve(import.meta.dirname, "../bin/beem.js");
const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem");
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;

interface Line {
  image: string;
  caption?: string;
  error?: { code: string };
}

describe.runIf(hasRedis && existsSync(join(MODEL, "manifest.json")))(
  "beem jobs: one results line per path",
  () => {
    const dir = scratchDir();
    const images = join(dir, "images");
    let redis: LocalRedis | undefined;

    beforeAll(async () => {
      redis = await startRedis(dir);
      expect(
        (await beem(["scenes", "--count", "3", "--seed", "1000", "--out", images], dir)).status,
      ).toBe(0);
      // Two copies of a scene and two of a file that is not an image: same bytes, other paths.
      copyFileSync(join(images, "scene-1000-0.png"), join(images, "copy-of-0.png"));
      writeFileSync(join(images, "broken.png"), "not an image");
      writeFileSync(join(images, "broken-too.png"), "not an image");
    }, 60_000);

    afterAll(() => redis?.stop());

    const jobs = (...args: string[]) => {
      const [action, ...rest] = args;
      return beem(["jobs", action!, "--redis", redis!.url, "--queue", "paths", ...rest], dir);
    };
    const status = async () => JSON.parse((await jobs("status", "--json")).stdout);

    it("identical files: captioned once, a line each; re-adding does not caption again unless --force", async () => {
      const add = await jobs("add", images, join(images, "scene-1000-1.png"));
      expect(add.status, add.stderr).toBe(0);
      // 6 paths (one given twice), 4 contents.
      expect(add.stderr).toMatch(
        /queued 4 images on paths; 2 with the same content as another .*, 1 given twice/,
      );
      expect(await status()).toMatchObject({ waiting: 4, done: 0, failed: 0, paths: 6 });
      const again = await jobs("add", images);
      expect(again.stderr).toMatch(/queued 0 images on paths; 6 already queued/);

      const worker = spawn(
        process.execPath,
        [BIN, "jobs", "work", "--redis", redis!.url, "--queue", "paths", "--model", MODEL],
        { cwd: dir, stdio: "ignore" },
      );
      const exited = new Promise((ok) => worker.on("exit", ok));
      // Polled with redis-cli (a beem process per poll is slow on a busy machine).
      const finished = (key: string, command: string) =>
        Number(spawnSync("redis-cli", ["-p", String(redis!.port), command, key]).stdout.toString());
      for (let i = 0; i < 600; i++) {
        if (finished("beem:paths:results", "hlen") + finished("bull:paths:failed", "zcard") === 4)
          break;
        await new Promise((r) => setTimeout(r, 250));
      }
      worker.kill("SIGTERM");
      await exited;
      expect(await status()).toMatchObject({ waiting: 0, active: 0, done: 3, failed: 1 });

      const out = join(dir, "results.jsonl");
      const results = await jobs("results", "--out", out);
      expect(results.stderr).toMatch(/4 captions and 2 failures written/);
      const lines = readFileSync(out, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Line);
      const byName = new Map(lines.map((l) => [l.image.split("/").pop()!, l]));
      expect([...byName.keys()].sort()).toEqual([
        "broken-too.png",
        "broken.png",
        "copy-of-0.png",
        "scene-1000-0.png",
        "scene-1000-1.png",
        "scene-1000-2.png",
      ]);
      expect(lines).toHaveLength(6);
      expect(byName.get("copy-of-0.png")!.caption).toBe(byName.get("scene-1000-0.png")!.caption);
      expect(byName.get("copy-of-0.png")!.image).toBe(join(images, "copy-of-0.png"));
      expect(byName.get("broken-too.png")!.error?.code).toBe("UNSUPPORTED_IMAGE");
      expect(typeof byName.get("scene-1000-2.png")!.caption).toBe("string");

      // Finished: not queued again, but a new copy of a captioned image gets its line at once.
      copyFileSync(join(images, "scene-1000-2.png"), join(images, "copy-of-2.png"));
      const readd = await jobs("add", images);
      expect(readd.status).toBe(0);
      expect(readd.stderr).toMatch(/queued 0 images on paths; 7 already done \(--force/);
      await jobs("results", "--out", out);
      const seven = readFileSync(out, "utf8").trim().split("\n");
      expect(seven).toHaveLength(7);

      const forced = await jobs("add", images, "--force");
      expect(forced.stderr).toMatch(/queued 4 images on paths; 3 with the same content/);
      expect(await status()).toMatchObject({ waiting: 4, done: 0, failed: 0 });
    }, 600_000);

    it("honours the database index of the Redis URL (and refuses one Redis does not have); a list with a BOM", async () => {
      const url3 = `${redis!.url}/3`;
      // A list saved with a UTF-8 byte order mark: the mark is not part of the first path.
      writeFileSync(join(dir, "list.txt"), "\uFEFFscene-1000-0.png\n");
      const add = await beem(
        ["jobs", "add", "--redis", url3, "--queue", "db", "--list", "list.txt", "--root", images],
        dir,
      );
      expect(add.status, add.stderr).toBe(0);
      expect(add.stderr).toMatch(/queued 1 images on db/);
      const paths = spawnSync("redis-cli", [
        "-p",
        String(redis!.port),
        "-n",
        "3",
        "hkeys",
        "beem:db:paths",
      ]);
      expect(paths.stdout.toString()).toBe("scene-1000-0.png\n");
      const keys = (db: string) =>
        spawnSync("redis-cli", ["-p", String(redis!.port), "-n", db, "keys", "beem:db:*"])
          .stdout.toString()
          .trim();
      expect(keys("3")).toBe("beem:db:paths");
      expect(keys("0")).toBe("");
      const far = await beem(
        ["jobs", "status", "--redis", `${redis!.url}/99`, "--queue", "db"],
        dir,
      );
      expect(far.status).toBe(1);
      expect(far.stderr).toMatch(
        /--redis .*\/99: cannot use database 99 \(ERR DB index is out of range\)/,
      );
    }, 120_000);
  },
);
