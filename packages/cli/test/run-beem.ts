// Runs the beem command as a user would: a separate Node process, in a folder of its own.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const BIN = resolve(import.meta.dirname, "../bin/beem.js");
const SCENE_CAPTIONER = resolve(import.meta.dirname, "../../../models/caption-beem");

export interface Result {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface BeemOptions {
  /**
   * The caption bundle the command gets by default. The CLI tests caption synthetic scenes,
   * made on the fly, so they run the scene captioner (models/caption-beem) unless a test asks
   * for the CLI's own default (`"default"`, the photo captioner).
   */
  readonly captionModel?: string;
}

export function beem(
  args: readonly string[],
  cwd: string,
  options: BeemOptions = {},
): Promise<Result> {
  const captionModel = options.captionModel ?? SCENE_CAPTIONER;
  const env = { ...process.env };
  if (captionModel === "default") delete env.BEEM_CAPTION_MODEL;
  else env.BEEM_CAPTION_MODEL = captionModel;
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env, maxBuffer: 64 * 1024 * 1024 },
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
