// Once per test run. Every temporary file of the run (test scratch folders, bundle copies, what
// the CLI, Python and the browser write under the system temp folder) goes into one folder made
// here, TMPDIR of the test processes, removed when the run ends: the tests' own clean-up need not
// be complete for a run to leave nothing behind. Then transformers.js' layout of the bundled
// scene captioner (training/common/export_tjs.py, into the same cache `beem caption-eval` uses),
// for the tests that run transformers.js on the same weights. Needs Python with onnx (.ci/run
// installs it).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { transformersJsExport } from "@beem-ts/bench";

declare module "vitest" {
  export interface ProvidedContext {
    /** The folder of models/caption-beem's transformers.js export ("" when none was made). */
    tjsCaptionBeem: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const scratch = mkdtempSync(join(tmpdir(), "beem-test-run-"));
  process.env.TMPDIR = scratch;
  const bundle = resolve(import.meta.dirname, "../models/caption-beem");
  let dir = "";
  if (existsSync(resolve(bundle, "manifest.json"))) {
    try {
      dir = await transformersJsExport(bundle);
    } catch (error) {
      console.warn(`SKIPPED transformers.js comparisons: ${(error as Error).message}`);
    }
  }
  project.provide("tjsCaptionBeem", dir);
  return () => rmSync(scratch, { recursive: true, force: true });
}
