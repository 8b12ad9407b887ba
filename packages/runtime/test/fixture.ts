// A bundle folder with the JSON files the loading layer reads (no graphs): a manifest, the
// SST-2 bundle's WordPiece tokenizer, and an exit log of synthetic exits.
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { formatExitLogLine, generateSyntheticExits } from "@beem-ts/core";

export const TOKENIZER_SOURCE = resolve(import.meta.dirname, "../../../models/sst2-beem");

export function manifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: "beem-bundle",
    formatVersion: 1,
    id: "fixture",
    task: "text-classification",
    numExits: 4,
    maxLength: 16,
    tokenizer: { file: "tokenizer.json", config: "tokenizer_config.json" },
    costs: { unit: "ms", measuredWith: "fixture", fixed: 0.5, exits: [1, 1, 1, 1] },
    calibrationLog: "exits.jsonl",
    ...overrides,
  };
}

/** A temporary bundle folder; `files` adds or replaces files (a value of null leaves one out). */
export function bundleDir(files: Record<string, string | null> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "beem-runtime-"));
  for (const file of ["tokenizer.json", "tokenizer_config.json"])
    cpSync(join(TOKENIZER_SOURCE, file), join(dir, file));
  const log = generateSyntheticExits({ samples: 400, exits: 4, seed: 5 })
    .map((s) => formatExitLogLine(s))
    .join("\n");
  writeFileSync(join(dir, "exits.jsonl"), log + "\n");
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest()));
  for (const [file, text] of Object.entries(files)) {
    if (text === null) continue;
    writeFileSync(join(dir, file), text);
  }
  return dir;
}
