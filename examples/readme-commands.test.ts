// Every command the top README quotes in a code block is either run here as written (from a
// folder holding only the clone's examples/ and models/, so that its outputs land elsewhere) or
// listed below with why it is not, and with the README's words saying what it needs. A command
// added to the README without either fails this test.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const BEEM = resolve(ROOT, "packages/cli/bin/beem.js");
const README = readFileSync(resolve(ROOT, "README.md"), "utf8");

/** The commands of the README's sh blocks, continuation lines joined, comments dropped. */
function quotedCommands(): string[] {
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, "")
      .split("\n")
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line !== ""),
  );
}

/** Commands not run here, each with the README's words that say what it needs or why. */
const NOT_RUN: { command: RegExp; why: string; readmeSays: RegExp }[] = [
  {
    command: /^npm install -g pnpm.*pnpm demo$|^pnpm test$/,
    why: "the set-up commands (pnpm demo and pnpm test are run by the tests themselves)",
    readmeSays: /install, then caption the bundled image/,
  },
  {
    command: /^pnpm beem caption-(eval|sweep) --scenes/,
    why: "benchmarks of minutes; the CLI tests run both on a few scenes",
    readmeSays: /The evaluations make their scenes on the fly \(minutes on 2 cores\)/,
  },
  {
    command: /^pnpm beem caption-(eval|sweep) --data \.\.\/shared\/data\/captions\//,
    why: "Flickr8k is not shipped (research use), and these run for minutes",
    readmeSays: /On real photos the evaluations need Flickr8k, which is not shipped/,
  },
  {
    command: /^pnpm beem caption (photo\.jpg|~\/photos)/,
    why: "the user's own images",
    readmeSays: /Your own images, as a batch,\s+and a whole folder of them/,
  },
  {
    command: /^pnpm beem classify-eval --data \.\.\/shared\/data\/text\/sst2\/dev\.jsonl/,
    why: "SST-2 dev is not shipped",
    readmeSays: /SST-2 dev, which is not shipped: GLUE's SST-2 validation split/,
  },
  {
    command: /^pnpm (convert:text --hf ~|beem classify --model models\/bert-sst2-beem)/,
    why: "a fine-tuned checkpoint downloaded by the user, and Python with PyTorch",
    readmeSays: /A fine-tuned classifier of your own \(downloaded on your machine/,
  },
  {
    command: /^pnpm start|^curl /,
    why: "a server left running; the server's tests start it and call these routes",
    readmeSays: /http:\/\/127\.0\.0\.1:8080, both bundled models/,
  },
];

const modelsPresent = ["caption-beem", "photo-caption", "sst2-beem"].every((m) =>
  existsSync(resolve(ROOT, "models", m, "manifest.json")),
);
if (!modelsPresent) console.warn("SKIPPED running the README's commands: no bundled models");

function run(command: string, cwd: string): Promise<{ code: number; out: string }> {
  // `pnpm beem ARGS` is the beem bin; other pnpm commands go through pnpm itself.
  const [file, args] = command.startsWith("pnpm beem ")
    ? [process.execPath, [BEEM, ...shellWords(command.slice("pnpm beem ".length))]]
    : ["pnpm", shellWords(command.slice("pnpm ".length))];
  return new Promise((done) => {
    execFile(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error === null ? 0 : Number(error.code ?? 1), out: stdout + stderr }),
    );
  });
}

/** Words of a command line with double-quoted words kept whole (all the README uses). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe("the README's commands", () => {
  const commands = quotedCommands();
  const toRun = commands.filter((c) => !NOT_RUN.some((n) => n.command.test(c)));

  it("are each run below or listed with what they need, which the README says", () => {
    expect(commands.length).toBeGreaterThan(10);
    for (const n of NOT_RUN) {
      expect(
        commands.some((c) => n.command.test(c)),
        String(n.command),
      ).toBe(true);
      expect(README, n.why).toMatch(n.readmeSays);
    }
    for (const c of toRun) expect(c, c).toMatch(/^pnpm (beem |--filter @beem-ts\/examples )/);
  });

  it.runIf(modelsPresent)(
    "run as written on the clone's files, in order",
    async () => {
      // A folder of its own (the commands write cal.jsonl, policy.json, ...), seeing the clone's
      // examples/ and models/ at the paths the README gives.
      const cwd = mkdtempSync(join(tmpdir(), "beem-readme-"));
      for (const dir of ["examples", "models"]) symlinkSync(resolve(ROOT, dir), join(cwd, dir));
      for (const command of toRun) {
        const r = await run(command, command.startsWith("pnpm beem ") ? cwd : ROOT);
        expect(r.code, `${command}\n${r.out}`).toBe(0);
      }
    },
    600_000,
  );
});
