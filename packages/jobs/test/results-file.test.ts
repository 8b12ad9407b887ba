// The resumable results file on its own: resuming after a line cut short, by byte (non-ASCII
// captions and file names), the refusals with their codes, and repair.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JOBS_ERROR_CODES, JobsError, openResults } from "../src/index.js";

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "beem-jobs-"));
}

describe("openResults", () => {
  it("drops a last line cut short at a byte offset, keeping non-ASCII lines whole", () => {
    const dir = scratch();
    const images = ["café.png", "日本.png", "plain.png"].map((name) => join(dir, name));
    for (const image of images) writeFileSync(image, "");
    const whole =
      JSON.stringify({ image: images[0], caption: "a café with crème brûlée ☕" }) +
      "\n" +
      JSON.stringify({ image: images[1], caption: "桜の木の下の猫" }) +
      "\n";
    const out = join(dir, "out.jsonl");
    writeFileSync(out, whole + `{"image": "${images[2]}", "capt`);
    const results = openResults(out, { resume: true });
    try {
      expect(readFileSync(out, "utf8")).toBe(whole);
      expect(results.has(images[0]!)).toBe(true);
      expect(results.has(images[1]!)).toBe(true);
      expect(results.has(images[2]!)).toBe(false);
      results.write({ image: images[2]!, caption: "plain" });
    } finally {
      results.close();
    }
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { image: string }).image)).toEqual(images);
  });

  it("refuses a file with results unless resuming (RESULTS_EXIST), naming the options as told", () => {
    const dir = scratch();
    const out = join(dir, "out.jsonl");
    writeFileSync(out, JSON.stringify({ image: join(dir, "x.png") }) + "\n");
    const refusal = (() => {
      try {
        openResults(out, { names: { resume: "--resume", repair: "--repair", file: "--out" } });
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(JobsError);
    expect((refusal as JobsError).code).toBe("RESULTS_EXIST");
    expect((refusal as JobsError).message).toMatch(/give --resume to carry on with it/);
    expect(Object.keys(JOBS_ERROR_CODES)).toContain("RESULTS_EXIST");
  });

  it("stops at an unreadable line (INVALID_INPUT) or, with repair, moves it aside and says so", () => {
    const dir = scratch();
    const out = join(dir, "out.jsonl");
    const good = JSON.stringify({ image: join(dir, "gone.png"), caption: "x" });
    writeFileSync(out, `${good}\nnot json\n`);
    expect(() => openResults(out, { resume: true })).toThrow(
      /out\.jsonl:2: not a results line \(bad JSON\); give repair: true to move/,
    );
    const told: string[] = [];
    const results = openResults(out, { resume: true, repair: true, log: (l) => told.push(l) });
    results.close();
    expect(results.repaired).toBe(1);
    expect(results.gone).toEqual([join(dir, "gone.png")]);
    expect(told).toEqual([`moved 1 unreadable lines from ${out} to ${out}.rejected`]);
    expect(readFileSync(out, "utf8")).toBe(`${good}\n`);
    expect(readFileSync(`${out}.rejected`, "utf8")).toBe("not json\n");
  });

  it("locks the file against a second run (OUTPUT_LOCKED)", () => {
    const out = join(scratch(), "out.jsonl");
    const first = openResults(out);
    try {
      expect(() => openResults(out, { resume: true })).toThrow(
        expect.objectContaining({ code: "OUTPUT_LOCKED" }),
      );
    } finally {
      first.close();
    }
    openResults(out, { resume: true }).close();
  });
});
