// examples/jobs-worker.ts against a real Redis (Debian's redis-server on a free loopback port):
// images queued with addImages, the example captions them, SIGTERM stops it with exit status 0;
// and packages/jobs/README.md shows the example as it is.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { addImages, readResults, readStatus, type ResultLine } from "@beem-ts/jobs";
import { startRedis } from "../packages/jobs/test/local-redis.js";

const here = import.meta.dirname;
const EXAMPLE = resolve(here, "jobs-worker.ts");
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;
const hasModel = existsSync(resolve(here, "../models/photo-caption/manifest.json"));
if (!hasRedis) {
  if (process.env.CI === "true")
    throw new Error("redis-server is missing (apt-get install redis-server)");
  console.warn(
    "SKIPPED the jobs worker example run: no redis-server (apt-get install redis-server)",
  );
}

describe("examples/jobs-worker.ts", () => {
  it("is the worker example of packages/jobs/README.md, as it is", () => {
    const readme = readFileSync(resolve(here, "../packages/jobs/README.md"), "utf8");
    const block = /<!-- examples\/jobs-worker\.ts -->\n+```ts\n([\s\S]*?)```/.exec(readme);
    expect(block, "the README's block after <!-- examples/jobs-worker.ts -->").not.toBeNull();
    expect(block![1]).toBe(readFileSync(EXAMPLE, "utf8"));
  });

  it.runIf(hasRedis && hasModel)(
    "captions what was queued, logs through its own logger and stops on SIGTERM",
    async () => {
      const redis = await startRedis(mkdtempSync(join(tmpdir(), "beem-jobs-example-")));
      try {
        const queue = { redis: { url: redis.url }, queue: "photos" };
        const images = ["images/pets.jpg", "images/scene.png"].map((p) => resolve(here, p));
        expect(await addImages(images, queue)).toMatchObject({ queued: 2 });
        const child = spawn(process.execPath, ["--import", "tsx", EXAMPLE], {
          cwd: here,
          env: { ...process.env, REDIS_URL: redis.url, QUEUE: "photos" },
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        const exited = new Promise<number | null>((done) => child.on("exit", done));
        const deadline = Date.now() + 50_000;
        while ((await readStatus(queue)).done < 2 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 250));
        child.kill("SIGTERM");
        expect(await exited, out).toBe(0);
        // Its own logger's lines (anything else a dependency prints is not the example's).
        const messages = out
          .split("\n")
          .filter((line) => line.startsWith("{"))
          .map((line) => (JSON.parse(line) as { service: string; message: string }).message);
        expect(messages[0]).toMatch(/^captioning photos with /);
        expect(messages.slice(-2)).toEqual(["SIGTERM: finishing the jobs in hand", "stopped"]);
        const lines: ResultLine[] = [];
        expect(await readResults(queue, (line) => void lines.push(line))).toEqual({
          captions: 2,
          failed: 0,
          pending: 0,
        });
        expect(lines.map((l) => l.image).sort()).toEqual(images.sort());
        for (const line of lines) expect(line.caption).toMatch(/\w/);
        expect(lines.find((l) => l.image.endsWith("pets.jpg"))?.caption).toMatch(/\bdogs?\b/);
      } finally {
        redis.stop();
      }
    },
  );
});
