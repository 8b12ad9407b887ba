// The converters and bench-scale check for Python, PyTorch, onnx and NumPy before starting: with
// a Python that lacks them (a real one, started without its site packages) or none at all, they
// exit 1 with one line naming what is missing and how to install it.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
const BIN = resolve(ROOT, "packages/cli/bin/beem.js");
const dir = mkdtempSync(join(tmpdir(), "beem-prereq-"));
// python3 -S: the standard library only, so torch, onnx and numpy cannot be imported.
const bare = join(dir, "python-bare");
writeFileSync(bare, '#!/bin/sh\nexec python3 -S "$@"\n');
chmodSync(bare, 0o755);
const hasPython = spawnSync("python3", ["-S", "-c", "pass"]).status === 0;

function run(command: string, args: string[], python: string) {
  const r = spawnSync(command, args, {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, PYTHON: python },
  });
  return { status: r.status, stderr: r.stderr.trim() };
}

const converters = [
  ["convert:text", "training/hf_text/convert.sh"],
  ["convert:vit-gpt2", "training/vit_gpt2/convert.sh"],
] as const;

describe("prerequisites of the converters and bench-scale", () => {
  it.runIf(hasPython).each(converters)(
    "%s names the missing packages and the install commands, in one line",
    (_name, script) => {
      const r = run("bash", [resolve(ROOT, script), "--hf", "x", "--out", "y"], bare);
      expect(r.status).toBe(1);
      expect(r.stderr.split("\n")).toHaveLength(1);
      expect(r.stderr).toBe(
        `error: ${bare} lacks PyTorch (torch), onnx, numpy; install with: apt-get install -y python3-torch python3-onnx python3-numpy (Debian), or ${bare} -m pip install torch onnx numpy (or set PYTHON to a Python that has them)`,
      );
    },
  );

  it.each(converters)("%s says when there is no Python at all", (_name, script) => {
    const r = run("bash", [resolve(ROOT, script), "--hf", "x"], join(dir, "no-such-python"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^error: no Python at .*no-such-python; install .*apt-get install -y python3 python3-torch python3-onnx/,
    );
    expect(r.stderr.split("\n")).toHaveLength(1);
  });

  it.runIf(hasPython)("beem bench-scale checks before building anything", () => {
    const cache = join(dir, "cache");
    const r = run(
      process.execPath,
      [BIN, "bench-scale", "--preset", "small", "--cache", cache],
      bare,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^beem bench-scale: .*python-bare lacks PyTorch \(torch\), onnx, numpy; install with: apt-get install -y python3-torch python3-onnx python3-numpy \(Debian\), or .* -m pip install torch onnx numpy/,
    );
    expect(r.stderr.split("\n")).toHaveLength(1);
  });
});
