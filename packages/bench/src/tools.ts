// The repository's Python tools (training/), which some measurements run: a random checkpoint's
// conversion, composing layers into one graph, the transformers.js export.
import { spawnSync } from "node:child_process";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { BenchError } from "./errors.js";

/** The repository root (training/ lives there). */
export const REPO_ROOT = resolve(import.meta.dirname, "../../..");

/** $PYTHON, else Debian's /usr/bin/python3 (the one with python3-torch and python3-onnx). */
export function python(): string {
  return process.env.PYTHON ?? "/usr/bin/python3";
}

/** A folder of beem's cache: $XDG_CACHE_HOME/beem/NAME, else ~/.cache/beem/NAME. */
export function beemCacheDir(name: string): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "beem", name);
}

/**
 * Throws a BenchError PREREQUISITE_MISSING (one line: what is missing, and the Debian and pip
 * commands that install it) unless python() has PyTorch, onnx and NumPy
 * (training/common/run-python.sh --check).
 */
export function checkPython(): void {
  const script = join(REPO_ROOT, "training", "common", "run-python.sh");
  const r = spawnSync("bash", [script, "--check"], { encoding: "utf8" });
  if (r.status === 0) return;
  const line = (r.stderr ?? "").trim().split("\n").at(-1) ?? "";
  throw new BenchError(
    "PREREQUISITE_MISSING",
    line.replace(/^error: /, "") || `the Python check failed (${r.error?.message ?? r.status})`,
  );
}

/**
 * Runs a training-folder tool from the repository root, logging `what...` first; returns its
 * standard output. A failure is a BenchError TOOL_FAILED quoting the tool's last words.
 */
export function runTool(what: string, args: readonly string[], log: (m: string) => void): string {
  log(`${what}...`);
  const env = { ...process.env, OMP_NUM_THREADS: "2", OPENBLAS_NUM_THREADS: "2" };
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", env, cwd: REPO_ROOT });
  if (r.error !== undefined || r.status !== 0)
    throw new BenchError(
      "TOOL_FAILED",
      `bench-scale: ${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr?.trim().split("\n").slice(-3).join(" ")}`,
    );
  return r.stdout;
}
