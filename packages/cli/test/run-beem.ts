// Runs the beem command as a user would: a separate Node process, in a folder of its own.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const BIN = resolve(import.meta.dirname, "../bin/beem.js");

export interface Result {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function beem(args: readonly string[], cwd: string): Promise<Result> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        done({ status, stdout, stderr });
      },
    );
  });
}

export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), "beem-cli-"));
}
