// Every example runs as a user would run it, and prints what the README says it prints.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = import.meta.dirname;
const modelsPresent =
  existsSync(resolve(here, "../models/photo-caption/manifest.json")) &&
  existsSync(resolve(here, "../models/sst2-beem/manifest.json"));
if (!modelsPresent) console.warn("SKIPPED example runs that need the bundled models");

function run(file: string, args: string[] = []): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", resolve(here, file), ...args],
      { cwd: here, env: { ...process.env, BEEM_URL: "" } },
      (error, stdout, stderr) =>
        done({ code: error === null ? 0 : Number(error.code ?? 1), out: stdout + stderr }),
    );
  });
}

describe("examples", () => {
  it.runIf(modelsPresent)(
    "pnpm demo (scripts/demo.ts) prints the README's caption and exits",
    async () => {
      const r = await run("../scripts/demo.ts");
      expect(r.code, r.out).toBe(0);
      // The example photo shows two dogs; the exact words are the model's (golden captions
      // are checked in packages/caption/test/photo-captioner.test.ts).
      expect(r.out).toMatch(/^examples\/images\/pets\.jpg$/m);
      const early =
        /^early exit: "(.+)"\n {2}((?:(?!\(end\))\S+\[[1-6]\] ?)+?)(?: ?\(end\)\[([1-6])\])?\n {2}mean exit layer ([\d.]+) of 6, [\d.]+ ms$/m.exec(
          r.out,
        );
      expect(early, r.out).not.toBeNull();
      expect(early![1]).toMatch(/\bdogs?\b/);
      const words = early![2]!.trim().split(" ");
      expect(words.map((w) => w.replace(/\[\d\]$/, "")).join(" ")).toBe(early![1]);
      // The mean counts the end token, which is shown with its layer (a caption that reaches
      // the length limit has none).
      const layers = [
        ...words.map((w) => Number(/\[(\d)\]$/.exec(w)![1])),
        ...(early![3] ? [Number(early![3])] : []),
      ];
      const mean = layers.reduce((a, b) => a + b, 0) / layers.length;
      expect(Number(early![4])).toBeCloseTo(mean, 2);
      expect(r.out).toMatch(/^full depth \(one fused graph\): ".*\bdogs?\b.*" \([\d.]+ ms\)$/m);
    },
  );

  it("own-model.ts logs exits, calibrates and decides step by step", async () => {
    const r = await run("own-model.ts");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^calibration log line: \{"label":\d,"exits":\[\[/m);
    const early = /early exit: accuracy (0\.\d+) reading ([\d.]+) of 64/.exec(r.out)!;
    const full = /full depth: accuracy (0\.\d+) reading 64 of 64/.exec(r.out)!;
    expect(Number(early[2])).toBeLessThan(64);
    expect(Number(early[1])).toBeGreaterThan(Number(full[1]) - 0.05);
  });

  it.runIf(modelsPresent)("caption-image.ts captions the example photo at a lambda", async () => {
    const r = await run("caption-image.ts", [resolve(here, "images/pets.jpg"), "0.05"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(
      /^lambda 0\.05: .*\bdogs?\b.*\n(\S+\[[1-6]\] ?)+( \(end\)\[[1-6]\])?\nmean exit layer [\d.]+ of 6\nfull depth: .*\bdogs?\b.*\n/m,
    );
  });

  it.runIf(modelsPresent)("classify-texts.ts classifies with per-text exits", async () => {
    const r = await run("classify-texts.ts");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^positive \((?:0\.\d{3}|1\.000)\), exit [1-6] of 6: a gorgeous/m);
    expect(r.out).toMatch(/^negative \([\d.]+\), exit [1-6] of 6: the plot goes nowhere/m);
  });

  it.runIf(modelsPresent)("call-server.ts captions and classifies over HTTP", async () => {
    const r = await run("call-server.ts");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/POST \/v1\/caption -> 200: .*\bdogs?\b/);
    expect(r.out).toMatch(/POST \/v1\/classify -> 200: positive\[\d\], negative\[\d\]/);
    expect(r.out).toMatch(
      /POST \/v1\/caption\?lambda=-1 -> 422: \{"error":\{"code":"INVALID_OPTION"/,
    );
  });
});
