// What the converter tests share: a Python with PyTorch (the suite is skipped with the install
// line where it is missing, and fails on CI), and the converter's scripts run with one BLAS
// thread each (the test files run side by side).
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";
export const ENV = { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" };

/** Whether PYTHON imports `modules` (e.g. "torch, onnx"); warns or, on CI, throws when not. */
export function hasPython(modules: string, packages: string, suite: string): boolean {
  if (spawnSync(PYTHON, ["-c", `import ${modules}`]).status === 0) return true;
  const message = `${PYTHON} has no ${modules} (apt-get install ${packages} libopenblas0-pthread)`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`SKIPPED the ${suite} tests: ${message}`);
  return false;
}

/** Runs SCRIPTS/script with PYTHON, or SCRIPTS/convert.sh, capturing their output. */
export function converterScripts(scripts: string) {
  return {
    python: (script: string, args: string[]) =>
      spawnSync(PYTHON, [join(scripts, script), ...args], { encoding: "utf8", env: ENV }),
    convert: (args: string[]) =>
      spawnSync("bash", [join(scripts, "convert.sh"), ...args], {
        encoding: "utf8",
        env: ENV,
        cwd: ROOT,
      }),
  };
}
