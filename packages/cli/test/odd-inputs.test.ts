// Odd inputs to the command line, as an operator meets them: a folder, FIFO, device or symbolic
// link loop where a file is expected, an output folder that is missing, a UTF-8 byte order mark.
// Each ends with one clear message and exit status 1 (never a stack trace, never a hang).
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { beem, scratchDir } from "./run-beem.js";

const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem/manifest.json");
const SCENE = resolve(import.meta.dirname, "../../../examples/images/scene.png");
const BOM = "\uFEFF";
const dir = scratchDir();
const hasMkfifo = spawnSync("mkfifo", ["--version"]).status === 0;

beforeAll(async () => {
  const synth = await beem(
    ["synth", "--out", "log.jsonl", "--samples", "500", "--exits", "4", "--classes", "3"],
    dir,
  );
  expect(synth.status, synth.stderr).toBe(0);
  mkdirSync(join(dir, "folder"));
  if (hasMkfifo) spawnSync("mkfifo", [join(dir, "fifo.png")]);
  symlinkSync("loop-b", join(dir, "loop-a"));
  symlinkSync("loop-a", join(dir, "loop-b"));
}, 60_000);

const refusals: [string[], RegExp][] = [
  [
    ["calibrate", "--exits", "folder", "--rule", "beem-a", "--lambda", "0.1", "--out", "p.json"],
    /error \[NOT_A_FILE\]: folder: not a regular file \(a folder\)/,
  ],
  [
    ["evaluate", "--exits", "log.jsonl", "--policy", "folder"],
    /error \[NOT_A_FILE\]: folder: not a regular file \(a folder\)/,
  ],
  [
    ["calibrate", "--exits", "loop-a", "--rule", "beem-a", "--lambda", "0.1", "--out", "p.json"],
    /error \[SYMLINK_LOOP\]: loop-a: a symbolic link loop/,
  ],
  [["score", "--input", "folder"], /error \[NOT_A_FILE\]: folder: not a regular file/],
  [["caption", "loop-a"], /error \[SYMLINK_LOOP\]: loop-a: a symbolic link loop/],
  [["caption", "/dev/zero"], /error \[NOT_A_FILE\]: \/dev\/zero: not a regular file \(a device\)/],
  [
    ["caption", SCENE, "--out", "folder"],
    /error \[NOT_A_FILE\]: folder: not a regular file \(a folder\)/,
  ],
  [
    ["caption", SCENE, "--out", "/nonexistent/x.jsonl"],
    /error \[WRITE_FAILED\]: \/nonexistent\/x\.jsonl: cannot write the file \(its folder \/nonexistent does not exist\)/,
  ],
  [
    ["scenes", "--count", "1", "--seed", "5", "--out", "log.jsonl"],
    /error \[WRITE_FAILED\]: log\.jsonl: cannot make the folder \(a file is in the way\)/,
  ],
  // Refused before Redis is reached (nothing listens on port 1).
  [
    ["jobs", "add", "--redis", "redis://127.0.0.1:1", "--queue", "q", "/dev/zero"],
    /error \[NOT_A_FILE\]: \/dev\/zero: not a regular file \(a device\)/,
  ],
  [
    [
      "jobs",
      "results",
      "--redis",
      "redis://127.0.0.1:1",
      "--queue",
      "q",
      "--out",
      "/nonexistent/x.jsonl",
    ],
    /error \[WRITE_FAILED\]: \/nonexistent\/x\.jsonl: cannot write the file \(its folder \/nonexistent does not exist\)/,
  ],
  [
    ["jobs", "results", "--redis", "redis://127.0.0.1:1", "--queue", "q", "--out", "folder"],
    /error \[NOT_A_FILE\]: folder: not a regular file \(a folder\)/,
  ],
  [
    ["jobs", "status", "--redis", "redis://127.0.0.1:1/db", "--queue", "q"],
    /error \[INVALID_ARGUMENT\]: --redis .*: expected a database index \(a number\) after the port but received "db"/,
  ],
];

describe("beem with odd inputs: one message, exit status 1, no trace", () => {
  it.each(refusals)(
    "beem %j",
    async (args, message) => {
      const r = await beem(args, dir);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.status).toBe(1);
    },
    60_000,
  );

  // /sys refuses new files even to root (the tests may run as root, whom permissions never stop).
  it.runIf(existsSync("/sys/kernel"))(
    "names a folder it may not write in",
    async () => {
      for (const args of [
        ["caption", SCENE, "--out", "/sys/x.jsonl"],
        [
          "jobs",
          "results",
          "--redis",
          "redis://127.0.0.1:1",
          "--queue",
          "q",
          "--out",
          "/sys/x.jsonl",
        ],
      ]) {
        const r = await beem(args, dir);
        expect(r.stderr).toMatch(
          /error \[WRITE_FAILED\]: \/sys\/x\.jsonl: cannot write the file \(no permission to write in \/sys \(EACCES\)\)/,
        );
        expect(r.status).toBe(1);
      }
    },
    60_000,
  );

  it.runIf(hasMkfifo)(
    "refuses a FIFO up front instead of waiting on it",
    async () => {
      for (const args of [
        ["caption", "fifo.png"],
        ["jobs", "add", "--redis", "redis://127.0.0.1:1", "--queue", "q", "fifo.png"],
        [
          "calibrate",
          "--exits",
          "fifo.png",
          "--rule",
          "beem-a",
          "--lambda",
          "0.1",
          "--out",
          "p.json",
        ],
      ]) {
        const r = await beem(args, dir);
        expect(r.stderr).toMatch(/error \[NOT_A_FILE\]: fifo\.png: not a regular file \(a FIFO\)/);
        expect(r.status).toBe(1);
      }
    },
    60_000,
  );

  it("reads a policy, an exit log and a caption score input that start with a UTF-8 BOM", async () => {
    const c = await beem(
      [
        "calibrate",
        "--exits",
        "log.jsonl",
        "--rule",
        "beem-a",
        "--lambda",
        "0.1",
        "--out",
        "p.json",
      ],
      dir,
    );
    expect(c.status, c.stderr).toBe(0);
    writeFileSync(join(dir, "bom-p.json"), BOM + readFileSync(join(dir, "p.json"), "utf8"));
    writeFileSync(join(dir, "bom-log.jsonl"), BOM + readFileSync(join(dir, "log.jsonl"), "utf8"));
    const e = await beem(
      ["evaluate", "--exits", "bom-log.jsonl", "--policy", "bom-p.json", "--json"],
      dir,
    );
    expect(e.status, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).exitCounts).toHaveLength(4);
    writeFileSync(
      join(dir, "bom-caps.json"),
      BOM + JSON.stringify({ refs: { a: ["a dog"] }, cands: { a: "a dog" } }),
    );
    const s = await beem(["score", "--input", "bom-caps.json", "--json"], dir);
    expect(s.status, s.stderr).toBe(0);
  }, 60_000);

  it.runIf(existsSync(MODEL))(
    "names link loops and broken links inside a folder, and captions the rest",
    async () => {
      const images = join(dir, "images");
      mkdirSync(images);
      copyFileSync(SCENE, join(images, "scene.png"));
      symlinkSync("loop-y.png", join(images, "loop-x.png"));
      symlinkSync("loop-x.png", join(images, "loop-y.png"));
      symlinkSync("gone.png", join(images, "broken.png"));
      const r = await beem(["caption", "images", "--json"], dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/images\/loop-x\.png: skipped, a symbolic link loop/);
      expect(r.stderr).toMatch(/images\/loop-y\.png: skipped, a symbolic link loop/);
      expect(r.stderr).toMatch(/images\/broken\.png: skipped, a broken symbolic link/);
      const lines = r.stdout.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!).image).toBe("images/scene.png");
    },
    60_000,
  );
});
