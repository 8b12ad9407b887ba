// The queue from a program, on a real Redis (Debian's redis-server on a free loopback port):
// adding, a worker embedded with a captioner the caller owns, status and results; and the
// refusals, named the way the caller says.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Captioner } from "@beem-ts/caption";
import {
  addImages,
  checkQueueName,
  connectRedis,
  createCaptionWorker,
  readResults,
  readStatus,
  type ResultLine,
} from "../src/index.js";
import { startRedis, type LocalRedis } from "./local-redis.js";

const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem");
const SCENE = resolve(import.meta.dirname, "../../../examples/images/scene.png");
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;
if (!hasRedis) {
  if (process.env.CI === "true")
    throw new Error("redis-server is missing (apt-get install redis-server)");
  console.warn("SKIPPED @beem-ts/jobs queue tests: no redis-server (apt-get install redis-server)");
}

describe("refusals", () => {
  it("names the queue and the URL as the caller labels them", async () => {
    expect(() => checkQueueName("a b")).toThrow(/^Expected queue to be 1-64 letters/);
    expect(() => checkQueueName("a b", "--queue")).toThrow(/^Expected --queue to be/);
    await expect(connectRedis({ url: "redis://127.0.0.1:1" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/^Redis redis:\/\/127\.0\.0\.1:1: cannot connect/),
    });
    await expect(connectRedis({ url: "redis://127.0.0.1:1/x", label: "--redis" })).rejects.toThrow(
      /^--redis redis:\/\/127\.0\.0\.1:1\/x: expected a database index/,
    );
  });
});

describe.runIf(hasRedis && existsSync(join(MODEL, "manifest.json")))(
  "a queue on a real Redis",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "beem-jobs-queue-"));
    let redis: LocalRedis;
    let captioner: Captioner;
    beforeAll(async () => {
      redis = await startRedis(dir);
      captioner = await Captioner.load(MODEL);
    });
    afterAll(async () => {
      redis?.stop();
      await captioner?.dispose();
    });

    it("adds, works, reports status and results; a missing image fails once, with its reason", async () => {
      const queue = { redis: { url: redis.url }, queue: "lib" };
      const copy = join(dir, "copy.png");
      copyFileSync(SCENE, copy);
      const missing = join(dir, "missing.png");
      expect(await addImages([SCENE, copy, missing, SCENE], queue)).toEqual({
        queued: 2,
        sameContent: 1,
        alreadyQueued: 0,
        alreadyDone: 0,
        repeated: 1,
      });
      expect(await addImages([SCENE], queue)).toMatchObject({ queued: 0, alreadyQueued: 1 });
      const told: string[] = [];
      const worker = await createCaptionWorker({
        ...queue,
        captioner,
        concurrency: 2,
        log: (line) => told.push(line),
      });
      const deadline = Date.now() + 30_000;
      let status = await readStatus(queue);
      while (status.done + status.failed < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status = await readStatus(queue);
      }
      await worker.close();
      await worker.closed;
      expect(status).toMatchObject({ waiting: 0, active: 0, done: 1, failed: 1, paths: 3 });
      expect(told).toEqual([expect.stringMatching(/missing\.png: failed: .*FILE_NOT_FOUND/)]);
      const lines: ResultLine[] = [];
      expect(await readResults(queue, (line) => void lines.push(line))).toEqual({
        captions: 2,
        failed: 1,
        pending: 0,
      });
      const byImage = new Map(lines.map((l) => [l.image, l]));
      expect(byImage.get(SCENE)?.caption).toBe(byImage.get(copy)?.caption);
      expect(byImage.get(missing)?.error).toMatchObject({ code: "FILE_NOT_FOUND" });
      // The captioner was the caller's: still usable after the worker closed.
      expect((await captioner.caption(SCENE)).text).toBe(byImage.get(SCENE)?.caption);
    });
  },
);
