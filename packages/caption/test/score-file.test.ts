// scoreCaptionFile: a score input file read, checked and scored, with errors that name the file.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BeemError } from "@beem-ts/core";
import { scoreCaptionFile, scoreCaptions, type ScoreInput } from "../src/index.js";

const input: ScoreInput = {
  refs: {
    a: ["a dog face to the left of a red apple", "a red apple right of a dog face"],
    b: ["a cat on a blue background", "a cat face in the middle"],
  },
  cands: { a: "a dog face left of an apple", b: "a cat face on a blue background" },
};

let dir: string;
const file = async (name: string, content: string | Buffer): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
};

/** The error `promise` rejects with (failing the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<BeemError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BeemError);
    return error as BeemError;
  }
  throw new Error("expected a rejection");
}

describe("scoreCaptionFile", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "beem-score-file-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("scores the file as scoreCaptions scores the object", async () => {
    const path = await file("input.json", JSON.stringify(input, null, 2));
    const scores = await scoreCaptionFile(path);
    expect(scores).toEqual(scoreCaptions(input));
    // Imperfect candidates: the scores are neither zero nor perfect.
    expect(scores.bleu1).toBeGreaterThan(0);
    expect(scores.bleu1).toBeLessThan(1);
  });

  it("reads a file that starts with a UTF-8 byte order mark", async () => {
    const path = await file(
      "bom.json",
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(input))]),
    );
    expect(await scoreCaptionFile(path)).toEqual(scoreCaptions(input));
  });

  it("refuses a missing file with INVALID_INPUT naming it", async () => {
    const path = join(dir, "missing.json");
    const error = await rejection(scoreCaptionFile(path));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain(`${path}: cannot read a JSON object`);
  });

  it("refuses a FIFO with INVALID_INPUT naming it, instead of reading it forever", async () => {
    const path = join(dir, "pipe.json");
    expect(spawnSync("mkfifo", [path]).status).toBe(0);
    const error = await rejection(scoreCaptionFile(path));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toBe(`${path}: cannot read a JSON object (a FIFO, not a file)`);
  });

  it("refuses a folder with INVALID_INPUT naming it", async () => {
    const path = join(dir, "folder.json");
    await mkdir(path);
    const error = await rejection(scoreCaptionFile(path));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain(`${path}: cannot read a JSON object`);
  });

  it.each([
    ["invalid JSON", '{"refs": {'],
    ["an empty file", ""],
  ])("refuses %s with INVALID_INPUT naming the file", async (_, content) => {
    const path = await file("bad.json", content);
    const error = await rejection(scoreCaptionFile(path));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain(`${path}: cannot read a JSON object`);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    ["a JSON array", "[]"],
    ["a JSON string", '"refs"'],
    ["null", "null"],
    ["an object without cands", JSON.stringify({ refs: input.refs })],
    ["an object without refs", JSON.stringify({ cands: input.cands })],
    ["refs as a string", JSON.stringify({ refs: "x", cands: input.cands })],
    ["refs null", JSON.stringify({ refs: null, cands: input.cands })],
    ["cands null", JSON.stringify({ refs: input.refs, cands: null })],
  ])("refuses %s with INVALID_INPUT naming the file", async (_, content) => {
    const path = await file("shape.json", content);
    const error = await rejection(scoreCaptionFile(path));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toBe(`${path}: expected {"refs": {...}, "cands": {...}}`);
  });

  it.each([
    ["no candidates", { refs: input.refs, cands: {} }, /"cands" to hold at least one caption/],
    ["a candidate without references", { refs: {}, cands: { a: "x" } }, /refs\["a"\]/],
    ["a candidate that is not a string", { refs: input.refs, cands: { a: 3 } }, /cands\["a"\]/],
  ])("passes scoreCaptions' error on for %s, naming the file", async (_, content, message) => {
    const path = await file("content.json", JSON.stringify(content));
    const error = await rejection(scoreCaptionFile(path));
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message.startsWith(`${path}: Expected `)).toBe(true);
    expect(error.message).toMatch(message);
    expect(error.cause).toBeInstanceOf(BeemError);
  });
});
