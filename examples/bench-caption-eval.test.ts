// examples/bench-caption-eval.ts run as a user would, on a few photos of the Flickr8k caption
// data set beside the clone; and packages/bench/README.md shows the example as it is.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const here = import.meta.dirname;
const EXAMPLE = resolve(here, "bench-caption-eval.ts");
const DATA = resolve(here, "../../shared/data/captions/flickr8k-1k/captions.jsonl");
const hasData = existsSync(DATA);
const hasModel = existsSync(resolve(here, "../models/photo-caption/manifest.json"));
if (!hasData)
  console.warn(`SKIPPED the bench-caption-eval example run: no caption data set at ${DATA}`);
if (!hasModel) console.warn("SKIPPED the bench-caption-eval example run: no models/photo-caption");

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", EXAMPLE, ...args],
      { cwd: here },
      (error, stdout, stderr) =>
        done({ code: error === null ? 0 : Number(error.code ?? 1), out: stdout + stderr }),
    );
  });
}

// The data set's first rows of each split, image paths made absolute: the example captions 4
// test photos, and the nearest-neighbour baseline indexes these few train photos instead of all
// 762 (minutes on a small machine).
function smallDataSet(dir: string): string {
  const taken: Record<string, number> = {};
  const keep: Record<string, number> = { test: 4, train: 6, dev: 3 };
  const lines = readFileSync(DATA, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      const row = JSON.parse(line) as { image: string; split: string; captions: string[] };
      if ((taken[row.split] = (taken[row.split] ?? 0) + 1) > (keep[row.split] ?? 0)) return [];
      const image = isAbsolute(row.image) ? row.image : resolve(dirname(DATA), row.image);
      return [JSON.stringify({ ...row, image })];
    });
  const file = join(dir, "captions.jsonl");
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

describe("examples/bench-caption-eval.ts", () => {
  it("is the example of packages/bench/README.md, as it is", () => {
    const readme = readFileSync(resolve(here, "../packages/bench/README.md"), "utf8");
    const block = /<!-- examples\/bench-caption-eval\.ts -->\n+```ts\n([\s\S]*?)```/.exec(readme);
    expect(
      block,
      "the README's block after <!-- examples/bench-caption-eval.ts -->",
    ).not.toBeNull();
    expect(block![1]).toBe(readFileSync(EXAMPLE, "utf8"));
  });

  it.runIf(hasData && hasModel)(
    "prints CIDEr-D at full depth and early, the mean exit layer and the measured speed-up",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "beem-bench-example-"));
      try {
        const r = await run([smallDataSet(dir), "--limit", "4"]);
        expect(r.code, r.out).toBe(0);
        expect(r.out).toMatch(/^4 test photos, rule [\w-]+, lambda (?:[\d.]+|null)$/m);
        const cider = /^CIDEr-D full depth ([\d.]+), early exit ([\d.]+)$/m.exec(r.out);
        expect(cider, r.out).not.toBeNull();
        for (const score of [cider![1], cider![2]]) {
          expect(Number(score)).toBeGreaterThanOrEqual(0);
          expect(Number(score)).toBeLessThanOrEqual(10); // ten times a mean cosine similarity
        }
        const exit = /^mean exit layer ([\d.]+) of (\d+)$/m.exec(r.out);
        expect(exit, r.out).not.toBeNull();
        expect(Number(exit![1])).toBeGreaterThanOrEqual(1);
        expect(Number(exit![1])).toBeLessThanOrEqual(Number(exit![2]));
        const speed = /^measured speed-up ([\d.]+)x \((\d+) ms -> (\d+) ms\)$/m.exec(r.out);
        expect(speed, r.out).not.toBeNull();
        expect(Number(speed![1])).toBeGreaterThan(0);
        expect(Number(speed![2])).toBeGreaterThan(0);
        expect(Number(speed![3])).toBeGreaterThan(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
