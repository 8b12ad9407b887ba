// Option parsing shared by the commands (node:util parseArgs, with errors as usage errors).
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  BeemError,
  checkFiniteNumber,
  checkInteger,
  checkOneOf,
  checkOpenUnit,
} from "@beem-ts/core";
import { UsageError } from "./cli-error.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Words<S extends string> = S extends `${infer W} ${infer Rest}`
  ? W | Words<Rest>
  : S extends ""
    ? never
    : S;

/** parseArgs options by name: each of `strings` (space-separated) takes a value; `flags` take none. */
export function options<S extends string, F extends string = "">(
  strings: S,
  flags?: F,
): { [K in Words<S> | Words<F>]: { type: K extends Words<F> ? "boolean" : "string" } } {
  const named = (names = "", type: string) =>
    names.split(" ").flatMap((name) => (name === "" ? [] : [[name, { type }]]));
  return Object.fromEntries([...named(strings, "string"), ...named(flags, "boolean")]) as never;
}

/** The values parseArgs gives for `options(...)`: a string per value option, a boolean per flag. */
export type OptionValues<T> = {
  [K in keyof T]?: (T[K] extends { type: "boolean" } ? boolean : string) | undefined;
};

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

/**
 * A flag's text read as a number and checked with the core's check (one message shape for the
 * library and the command line), a refusal being a usage error that quotes the text given.
 */
function checkedNumber<T>(value: string, check: (n: number) => T): T {
  try {
    return check(value.trim() === "" ? NaN : Number(value));
  } catch (error) {
    if (!(error instanceof BeemError)) throw error;
    throw new UsageError(
      error.message.replace(/ but received .*$/s, ` but received ${JSON.stringify(value)}`),
    );
  }
}

/** A number option: finite, >= min. */
export function numberOption(
  value: string | undefined,
  flag: string,
  fallback: number,
  min = -Infinity,
): number {
  if (value === undefined) return fallback;
  return checkedNumber(value, (n) => checkFiniteNumber(flag, n, min));
}

/** A probability bound: a number strictly between 0 and 1. */
export function openUnitOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  return checkedNumber(value, (n) => checkOpenUnit(flag, n));
}

/** An integer flag within [min, max]. */
export function integerOption(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max = Infinity,
): number {
  if (value === undefined) return fallback;
  return checkedNumber(value, (n) => checkInteger(flag, n, min, max));
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

/** `value` if it is one of `allowed`, else a usage error; undefined (flag not given) stays so. */
export function oneOf<T extends string, V extends string | undefined>(
  value: V,
  flag: string,
  allowed: readonly T[],
): V extends string ? T : undefined {
  if (value === undefined) return undefined as never;
  try {
    return checkOneOf(flag, value, allowed) as never;
  } catch (error) {
    if (error instanceof BeemError) throw new UsageError(error.message);
    throw error;
  }
}
