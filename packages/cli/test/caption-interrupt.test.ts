// A folder run stopped by Ctrl-C (SIGINT): it says how many images are done and the command
// that carries on, and that command finishes the folder. With standard error not a terminal,
// progress comes as a line every few seconds (BEEM_PROGRESS_SECONDS, shortened here).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { beem, scratchDir } from "./run-beem.js";

const BIN = resolve(import.meta.dirname, "../bin/beem.js");
const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem");
const lines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];

describe.runIf(existsSync(join(MODEL, "manifest.json")))(
  "beem caption FOLDER --out, interrupted",
  () => {
    it("SIGINT: the count done and the --resume command, which then finishes the folder", async () => {
      const dir = scratchDir();
      expect(
        (await beem(["scenes", "--count", "80", "--seed", "11", "--out", "imgs"], dir)).status,
      ).toBe(0);
      const child = spawn(process.execPath, [BIN, "caption", "imgs", "--out", "out.jsonl"], {
        cwd: dir,
        env: { ...process.env, BEEM_CAPTION_MODEL: MODEL, BEEM_PROGRESS_SECONDS: "0.2" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)));
      const file = join(dir, "out.jsonl");
      // Interrupted once a progress line has come (standard error is a pipe, not a terminal).
      const progressLine = /beem caption: \d+ of 80 images \(\d+%\), \d+\.\d\/s/;
      for (let i = 0; i < 600 && !progressLine.test(err); i++)
        await new Promise((r) => setTimeout(r, 50));
      child.kill("SIGINT");
      expect(await exited, err).toBe(1);
      // Progress lines while it ran (standard error is a pipe here, not a terminal).
      expect(err).toMatch(/beem caption: \d+ of 80 images \(\d+%\), \d+\.\d\/s/);
      const m =
        /stopped by SIGINT after (\d+) of 80 images \((\d+) images captioned\); out\.jsonl holds every finished one\. To continue:\n {2}pnpm beem caption (.*)\n/.exec(
          err,
        );
      expect(m, err).not.toBeNull();
      const done = Number(m![1]);
      expect(done).toBeGreaterThanOrEqual(1);
      expect(done).toBeLessThan(80);
      expect(lines(file)).toHaveLength(done);
      expect(Number(m![2])).toBe(done); // every scene is an image that can be captioned
      const again = m![3]!.split(" ");
      expect(again).toEqual(["imgs", "--out", "out.jsonl", "--resume"]);
      const rest = await beem(["caption", ...again], dir);
      expect(rest.status, rest.stderr).toBe(0);
      expect(rest.stderr).toMatch(
        new RegExp(`${80 - done} images captioned into out\\.jsonl \\(${done} already there\\)`),
      );
      const all = lines(file).map((l) => (JSON.parse(l) as { image: string }).image);
      expect(new Set(all).size).toBe(80);
      expect(all).toHaveLength(80);
    }, 180_000);
  },
);
