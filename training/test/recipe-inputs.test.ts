// The recipes refuse bad settings before any work, with a message naming the setting.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(command, args, { cwd: ROOT, env: { ...process.env, ...env } }, (error, _out, stderr) =>
      done({ code: error === null ? 0 : Number(error.code ?? 1), stderr }),
    );
  });
}

describe("recipe input checks", () => {
  it.each([
    [
      "training/caption/recipe.sh",
      { SCENES: "abc" },
      /Expected SCENES to be an integer >= 1 but received "abc"/,
    ],
    [
      "training/caption/recipe.sh",
      { EPOCHS: "0" },
      /Expected EPOCHS to be an integer >= 1 but received "0"/,
    ],
    [
      "training/caption/recipe.sh",
      { TARGETS: "some" },
      /Expected TARGETS to be canonical or all but received "some"/,
    ],
    [
      "training/text/recipe.sh",
      { EPOCHS: "-1" },
      /Expected EPOCHS to be an integer >= 1 but received "-1"/,
    ],
    [
      "training/text/recipe.sh",
      { LABELS: "only" },
      /Expected LABELS to name at least 2 labels but received "only"/,
    ],
  ])("%s refuses %o", async (script, env, message) => {
    const r = await run("bash", [script], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("takes a relative DATA from where the photo recipe was started, not from training/", async () => {
    const r = await run("bash", ["training/photo_caption/recipe.sh"], { DATA: "no-such-data" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${ROOT}/no-such-data/captions.jsonl: not found`);
  });

  it.each([
    [
      ["--count", "0", "--seed", "1", "--out", "/tmp/unused"],
      /Expected --count to be an integer >= 1 but received "0"/,
    ],
    [
      ["--count", "5", "--seed", "x", "--out", "/tmp/unused"],
      /Expected --seed to be an integer >= 0 but received "x"/,
    ],
    [["--count", "5", "--seed", "1"], /Give --out DIR/],
    [
      ["--count", "5", "--seed", "1", "--out", "/tmp/unused", "--tokenizer", "/nonexistent"],
      /\/nonexistent\/tokenizer.json: file not found/,
    ],
  ])("make-data.ts refuses %o", async (args, message) => {
    const r = await run(process.execPath, [
      "--import",
      "tsx",
      "training/caption/make-data.ts",
      ...args,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
