// beem caption FOLDER --out FILE [--resume]: a collection captioned into JSON lines, one per
// image as it is done, and an interrupted run carried on without losing or repeating an image.
import { spawn, spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { beem, scratchDir } from "./run-beem.js";

const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem/manifest.json");
const BIN = resolve(import.meta.dirname, "../bin/beem.js");

interface Line {
  image: string;
  caption?: string;
  /** The deprecated name of `caption`. */
  text?: string;
  exitLayers?: number[];
  endExitLayer?: number | null;
  tokens?: { exitLayer: number }[];
  meanExitLayer?: number;
  error?: { code: string; message: string };
  policy?: { rule: string };
  model?: string;
}

const read = (file: string): Line[] =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);

describe.runIf(existsSync(MODEL))("beem caption --out / --resume", () => {
  const dir = scratchDir();
  const images = join(dir, "images");
  let expected: Map<string, string>;

  beforeAll(async () => {
    expect(
      (await beem(["scenes", "--count", "10", "--seed", "1000", "--out", images], dir)).status,
    ).toBe(0);
    expect(
      (await beem(["scenes", "--count", "2", "--seed", "1001", "--out", join(images, "sub")], dir))
        .status,
    ).toBe(0);
    expect(
      (await beem(["scenes", "--count", "1", "--seed", "1002", "--out", join(dir, "outside")], dir))
        .status,
    ).toBe(0);
    symlinkSync(join(dir, "outside"), join(images, "link"));
    writeFileSync(join(images, "broken.png"), "not an image");
    writeFileSync(join(images, "notes.txt"), "not an image either, and not one by name");
    // Each image's caption captioned alone, for comparison.
    const single = await beem(["caption", images, "--json"], dir);
    expected = new Map(
      single.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Line)
        .map((r) => [r.image, r.caption!]),
    );
  }, 120_000);

  it("writes one line per image of the folder, errors included, and refuses to overwrite", async () => {
    const out = join(dir, "all.jsonl");
    const r = await beem(["caption", images, "--out", out, "--batch", "4"], dir);
    expect(r.status).toBe(1); // one image could not be read
    expect(r.stderr).toMatch(/12 images captioned, 1 failed into/);
    const lines = read(out);
    // 10 + 2 scenes and the broken file; nothing from the link leaving the folder, no .txt.
    expect(lines).toHaveLength(13);
    expect(new Set(lines.map((l) => l.image)).size).toBe(13);
    expect(lines.some((l) => l.image.includes("outside") || l.image.endsWith(".txt"))).toBe(false);
    const broken = lines.find((l) => l.image.endsWith("broken.png"))!;
    expect(broken.error?.code).toBe("UNSUPPORTED_IMAGE");
    for (const l of lines.filter((l) => l.error === undefined)) {
      expect(l.caption).toBe(expected.get(l.image));
      expect(l.text).toBe(l.caption);
      // One layer per token; the end token's apart, and counted in the mean.
      expect(l.exitLayers).toHaveLength(l.tokens!.length);
      const all = [...l.exitLayers!, ...(l.endExitLayer == null ? [] : [l.endExitLayer])];
      expect(l.meanExitLayer).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 12);
      expect(l).toMatchObject({ model: "caption-beem", policy: { rule: "beem" } });
    }
    const again = await beem(["caption", images, "--out", out], dir);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already holds results: give --resume/);
    expect(read(out)).toHaveLength(13);
  });

  it("carries on after a line cut short, redoing only what is missing", async () => {
    const out = join(dir, "cut.jsonl");
    expect((await beem(["caption", images, "--out", out], dir)).status).toBe(1);
    const full = readFileSync(out, "utf8").trim().split("\n");
    writeFileSync(out, full.slice(0, 5).join("\n") + "\n" + full[5]!.slice(0, 30));
    const r = await beem(["caption", images, "--out", out, "--resume"], dir);
    expect(r.stderr).toMatch(/8 images captioned into .* \(5 already there\)/);
    const lines = read(out);
    expect(lines.map((l) => l.image).sort()).toEqual(full.map((l) => JSON.parse(l).image).sort());
    for (const l of lines)
      if (l.caption !== undefined) expect(l.caption).toBe(expected.get(l.image));
  });

  it("a run killed midway resumes to every image exactly once", async () => {
    const out = join(dir, "killed.jsonl");
    const child = spawn(process.execPath, [BIN, "caption", images, "--out", out], { cwd: dir });
    const exited = new Promise((r) => child.on("exit", r));
    for (let i = 0; i < 400; i++) {
      if (existsSync(out) && readFileSync(out, "utf8").split("\n").length > 3) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill("SIGKILL");
    await exited;
    const before = readFileSync(out, "utf8").split("\n").length - 1;
    expect(before).toBeLessThan(13);
    await beem(["caption", images, "--out", out, "--resume"], dir);
    const lines = read(out);
    expect(lines).toHaveLength(13);
    expect(new Set(lines.map((l) => l.image)).size).toBe(13);
  });

  it("resumes by real path: relative, absolute or through a link, each image one line", async () => {
    const out = join(dir, "paths.jsonl");
    expect((await beem(["caption", "images", "--out", "paths.jsonl"], dir)).status).toBe(1);
    symlinkSync(images, join(dir, "alias"));
    for (const given of [images, "alias", "./images/sub"]) {
      const r = await beem(["caption", given, "--out", out, "--resume"], dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/ 0 images captioned into .* \(\d+ already there\)/);
    }
    // The same file named twice in one run: one line.
    const twice = join(dir, "twice.jsonl");
    const one = join(images, "scene-1000-0.png");
    await beem(
      ["caption", one, "images/scene-1000-0.png", "alias/scene-1000-0.png", "--out", twice],
      dir,
    );
    expect(read(twice).map((l) => l.image)).toEqual([one]);
    expect(read(out)).toHaveLength(13);
  });

  it("locks the output file: a second run is refused naming the lock; a dead run's lock is taken over", async () => {
    const out = join(dir, "locked.jsonl");
    const one = join(images, "scene-1000-1.png");
    // Two runs at once on the same file: one writes, the other is refused.
    const [a, b] = await Promise.all([
      beem(["caption", images, "--out", out, "--resume"], dir),
      beem(["caption", images, "--out", out, "--resume"], dir),
    ]);
    const refused = [a, b].filter((r) => /OUTPUT_LOCKED/.test(r.stderr));
    expect(refused.length, a.stderr + b.stderr).toBe(1);
    expect(refused[0]!.status).toBe(1);
    expect(refused[0]!.stderr).toMatch(
      /locked\.jsonl is being written by another run \(pid \d+ on .*\): its lock is .*locked\.jsonl\.lock/,
    );
    expect(read(out)).toHaveLength(13);
    expect(new Set(read(out).map((l) => l.image)).size).toBe(13);
    expect(existsSync(`${out}.lock`)).toBe(false);
    // A lock held by a live process (this one) refuses; one of a process that is gone is taken over.
    const lock = (pid: number) =>
      writeFileSync(`${out}.lock`, JSON.stringify({ pid, host: hostname(), since: "then" }));
    lock(process.pid);
    const held = await beem(["caption", one, "--out", out, "--resume"], dir);
    expect(held.status).toBe(1);
    expect(held.stderr).toMatch(new RegExp(`error \\[OUTPUT_LOCKED\\]: .*pid ${process.pid}`));
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    lock(gone);
    const resumed = await beem(["caption", one, "--out", out, "--resume"], dir);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`took over the lock .* left by process ${gone}`));
    expect(existsSync(`${out}.lock`)).toBe(false);
  });

  it("--repair moves unreadable lines aside; lines for images no longer there are reported and kept; old lines with text still count", async () => {
    const out = join(dir, "repair.jsonl");
    expect((await beem(["caption", images, "--out", out], dir)).status).toBe(1);
    const good = readFileSync(out, "utf8").trim().split("\n");
    // An old-style line (the caption under "text") for an image that is still there, a corrupt
    // line, and a line for an image since deleted.
    const old = JSON.parse(good[1]!) as Record<string, unknown>;
    const { caption, text: _text, ...rest } = old;
    const lines = [
      good[0]!,
      JSON.stringify({ ...rest, text: caption }),
      '{"image": "images/scene-1000-3.png", "capt',
      JSON.stringify({ image: join(dir, "deleted.png"), caption: "a deleted image" }),
      ...good.slice(2),
    ];
    writeFileSync(out, lines.join("\n") + "\n");
    const stopped = await beem(["caption", images, "--out", out, "--resume"], dir);
    expect(stopped.status).toBe(1);
    expect(stopped.stderr).toMatch(
      /repair\.jsonl:3: not a results line \(bad JSON\); give --repair to move unreadable lines to .*repair\.jsonl\.rejected/,
    );
    expect(readFileSync(out, "utf8")).toBe(lines.join("\n") + "\n");
    const repaired = await beem(["caption", images, "--out", out, "--resume", "--repair"], dir);
    expect(repaired.status, repaired.stderr).toBe(0);
    expect(repaired.stderr).toMatch(
      /moved 1 unreadable lines from .* to .*repair\.jsonl\.rejected/,
    );
    expect(repaired.stderr).toMatch(/0 images captioned into .* \(13 already there\)/);
    expect(repaired.stderr).toMatch(
      /has 1 lines for images no longer there \(kept\): .*deleted\.png/,
    );
    expect(readFileSync(`${out}.rejected`, "utf8")).toBe(lines[2] + "\n");
    expect(read(out)).toHaveLength(14);
  });

  it("--resume needs --out", async () => {
    const r = await beem(["caption", images, "--resume"], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--resume carries on an --out file/);
  });
});
