// Option parsing shared by the commands (node:util parseArgs, with errors as usage errors).
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./cli-error.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
>;

export function parse<T extends Options>(
  argv: readonly string[],
  options: T,
  usage: string,
): Parsed<T> {
  // "--lambda -1" reaches the range check (and its clear message) instead of reading as a flag.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const isStringOption = arg.startsWith("--") && options[arg.slice(2)]?.type === "string";
    if (isStringOption && next !== undefined && /^-\d|^-\.\d|^-Infinity$/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as Parsed<T>;
  } catch (cause) {
    throw new UsageError(`${(cause as Error).message}\n${usage}`);
  }
}

export function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined || value === "") throw new UsageError(`Missing ${flag}\n${usage}`);
  return value;
}

/** A number option: finite, >= min. */
export function numberOption(
  value: string | undefined,
  flag: string,
  fallback: number,
  min = -Infinity,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new UsageError(
      `Expected ${flag} to be a finite number${min > -Infinity ? ` >= ${min}` : ""} but received ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** A probability bound: a number strictly between 0 and 1. */
export function openUnitOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !(n > 0 && n < 1)) {
    throw new UsageError(
      `Expected ${flag} to be a number in (0, 1) but received ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** An integer flag within [min, max]. */
export function integerOption(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `Expected ${flag} to be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""} but received ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** A comma-separated list of numbers. */
export function numberList(
  value: string | undefined,
  flag: string,
  min = -Infinity,
): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((part) => numberOption(part.trim(), flag, 0, min));
}

export function oneOf<T extends string>(value: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(
      `Expected ${flag} to be one of ${allowed.join(", ")} but received ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}
