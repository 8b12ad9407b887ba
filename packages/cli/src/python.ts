// The Python the training and conversion scripts run with, and the check that it has what they
// import (training/common/run-python.sh does both for the converters).
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { PrerequisiteError } from "./cli-error.js";

const RUN_PYTHON = resolve(import.meta.dirname, "../../../training/common/run-python.sh");

/** $PYTHON, else Debian's /usr/bin/python3 (the one with python3-torch and python3-onnx). */
export function python(): string {
  return process.env.PYTHON ?? "/usr/bin/python3";
}

/**
 * Throws a PrerequisiteError (one line: what is missing, and the Debian and pip commands that
 * install it) unless Python, PyTorch, onnx and NumPy are there.
 */
export function checkPython(): void {
  const r = spawnSync("bash", [RUN_PYTHON, "--check"], { encoding: "utf8" });
  if (r.status === 0) return;
  const line = (r.stderr ?? "").trim().split("\n").at(-1) ?? "";
  throw new PrerequisiteError(
    line.replace(/^error: /, "") || `the Python check failed (${r.error?.message ?? r.status})`,
  );
}
