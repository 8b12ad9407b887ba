// Reading a bundle folder: its JSON files and the manifest fields every task shares, checked in
// one style. Every problem is INVALID_BUNDLE and names the file (and the field).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BeemError } from "@beem-ts/core";

export function bundleError(message: string, cause?: unknown): BeemError {
  return new BeemError("INVALID_BUNDLE", message, cause === undefined ? {} : { cause });
}

/** DIR/FILE parsed as JSON; `what` says what the file is for in the error. */
export async function readBundleJson(dir: string, file: string, what: string): Promise<unknown> {
  const path = join(dir, file);
  try {
    return JSON.parse(await readFile(path, "utf8")) as unknown;
  } catch (cause) {
    throw bundleError(`${path}: cannot read the ${what} (${(cause as Error).message})`, cause);
  }
}

/** Per-exit costs a bundle was measured with. */
export interface ExitCosts {
  /** What the numbers are: "ms", measured how. */
  readonly unit: string;
  readonly measuredWith: string;
  /** Cost paid by every input before exit 1 (tokenisation, embeddings, an image encoder). */
  readonly fixed: number;
  /** Cost of each layer with its exit head, exit 1 first. */
  readonly exits: readonly number[];
}

/** The manifest fields of every bundle, whatever its task. */
export interface BundleManifest {
  readonly format: "beem-bundle";
  readonly formatVersion: 1;
  readonly id: string;
  readonly task: string;
  readonly numExits: number;
  readonly maxLength: number;
  /** `tokenizer.json` and `tokenizer_config.json` as Hugging Face writes them. */
  readonly tokenizer: { readonly file: string; readonly config: string };
  readonly costs?: ExitCosts;
  /** Default policy file, relative to the bundle; without one the default is full depth. */
  readonly policy?: string;
  /** Exit log of the calibration split (for fitting rules and lambdas), relative to the bundle. */
  readonly calibrationLog?: string;
}

/** Checks on a manifest's fields, each error naming the manifest file and the field. */
export class ManifestCheck {
  constructor(
    /** The manifest file's path. */
    readonly path: string,
    readonly value: Record<string, unknown>,
  ) {}

  fail(message: string): never {
    throw bundleError(`${this.path}: ${message}`);
  }

  that(condition: unknown, message: string): void {
    if (!condition) this.fail(message);
  }

  /** The value at a dotted field name ("graphs.layers"), or undefined. */
  get(field: string): unknown {
    let value: unknown = this.value;
    for (const key of field.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== ""))
      value =
        typeof value === "object" && value !== null
          ? (value as Record<string, unknown>)[key]
          : undefined;
    return value;
  }

  integer(field: string, min: number): number {
    const v = this.get(field);
    this.that(
      Number.isInteger(v) && (v as number) >= min,
      `field "${field}" must be an integer >= ${min}`,
    );
    return v as number;
  }

  file(field: string, extension = ""): string {
    const v = this.get(field);
    this.that(
      typeof v === "string" && v !== "" && v.endsWith(extension),
      `field "${field}" must name a${extension === "" ? "" : ` ${extension}`} file`,
    );
    return v as string;
  }

  optionalFile(field: string, extension = ""): string | undefined {
    return this.get(field) === undefined ? undefined : this.file(field, extension);
  }

  list(field: string, length: number, what: string): unknown[] {
    const v = this.get(field);
    this.that(
      Array.isArray(v) && v.length === length,
      `field "${field}" must list ${length} ${what}`,
    );
    return v as unknown[];
  }

  numbers(field: string, length: number, min = -Infinity): number[] {
    const v = this.list(field, length, "numbers");
    this.that(
      v.every((x) => typeof x === "number" && Number.isFinite(x) && x >= min),
      `field "${field}" must hold ${length} finite numbers${min > -Infinity ? ` >= ${min}` : ""}`,
    );
    return v as number[];
  }
}

/**
 * DIR/manifest.json with the fields every bundle shares checked (format, version, task, exits,
 * maximum length, tokenizer files, costs, policy and calibration log names); the task package
 * checks its own fields with the returned `check`.
 */
export async function readManifest<M extends BundleManifest>(
  dir: string,
  task: M["task"],
): Promise<{ manifest: M; check: ManifestCheck }> {
  const value = await readBundleJson(dir, "manifest.json", "manifest");
  const path = join(dir, "manifest.json");
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw bundleError(`${path}: must be a JSON object`);
  const check: ManifestCheck = new ManifestCheck(path, value as Record<string, unknown>);
  const m = value as Partial<BundleManifest>;
  check.that(m.format === "beem-bundle", `field "format" must be "beem-bundle"`);
  check.that(
    m.formatVersion === 1,
    `field "formatVersion" ${String(m.formatVersion)} is not supported (1 is)`,
  );
  check.that(m.task === task, `field "task" must be "${task}" but is ${JSON.stringify(m.task)}`);
  check.that(typeof m.id === "string" && m.id !== "", `field "id" must be a non-empty string`);
  const numExits = check.integer("numExits", 1);
  check.integer("maxLength", 2);
  check.file("tokenizer.file", ".json");
  check.file("tokenizer.config", ".json");
  check.optionalFile("policy", ".json");
  check.optionalFile("calibrationLog");
  if (m.costs !== undefined) {
    check.numbers("costs.exits", numExits, Number.MIN_VALUE);
    check.that(
      typeof m.costs.fixed === "number" && Number.isFinite(m.costs.fixed) && m.costs.fixed >= 0,
      `field "costs.fixed" must be a finite number >= 0`,
    );
  }
  return { manifest: value as M, check };
}
