// beem caption FOLDER --out FILE [--resume]: a collection captioned into JSON lines, one per
// image as it is done, and an interrupted run carried on without losing or repeating an image.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { beem, scratchDir } from "./run-beem.js";

const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem/manifest.json");
const BIN = resolve(import.meta.dirname, "../bin/beem.js");

interface Line {
  image: string;
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
        .map((r) => [r.image, r.text!]),
    );
  }, 120_000);

  it("writes one line per image of the folder, errors included, and refuses to overwrite", async () => {
    const out = join(dir, "all.jsonl");
    const r = await beem(["caption", images, "--out", out, "--batch", "4"], dir);
    expect(r.status).toBe(1); // one image could not be read
    const lines = read(out);
    // 10 + 2 scenes and the broken file; nothing from the link leaving the folder, no .txt.
    expect(lines).toHaveLength(13);
    expect(new Set(lines.map((l) => l.image)).size).toBe(13);
    expect(lines.some((l) => l.image.includes("outside") || l.image.endsWith(".txt"))).toBe(false);
    const broken = lines.find((l) => l.image.endsWith("broken.png"))!;
    expect(broken.error?.code).toBe("UNSUPPORTED_IMAGE");
    for (const l of lines.filter((l) => l.error === undefined)) {
      expect(l.text).toBe(expected.get(l.image));
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
    for (const l of lines) if (l.text !== undefined) expect(l.text).toBe(expected.get(l.image));
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

  it("--resume needs --out", async () => {
    const r = await beem(["caption", images, "--resume"], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--resume carries on an --out file/);
  });
});
