// Argument checks at the public boundary, all with one message shape.
import { invalidArgument } from "./errors.js";

export function checkFiniteNumber(name: string, value: unknown, min = -Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    invalidArgument(
      name,
      min === -Infinity ? "a finite number" : `a finite number >= ${min}`,
      value,
    );
  }
  return value;
}

/** A number strictly between 0 and 1 (a probability bound). */
export function checkOpenUnit(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value >= 1)
    invalidArgument(name, "a number in (0, 1)", value);
  return value;
}

export function checkInteger(name: string, value: unknown, min: number, max = Infinity): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    invalidArgument(name, `an integer ${range}`, value);
  }
  return value;
}

export function checkOneOf<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    invalidArgument(name, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`, value);
  }
  return value as T;
}

export function checkNumberArray(
  name: string,
  value: unknown,
  options: { length?: number; min?: number; positive?: boolean } = {},
): number[] {
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) invalidArgument(name, "an array", value);
  const array = Array.from(value as ArrayLike<unknown>);
  if (options.length !== undefined && array.length !== options.length) {
    invalidArgument(name, `an array of length ${options.length}`, value);
  }
  array.forEach((v, i) => {
    if (options.positive === true) {
      if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
        invalidArgument(`${name}[${i}]`, "a finite number > 0", v);
      }
    } else {
      checkFiniteNumber(`${name}[${i}]`, v, options.min);
    }
  });
  return array as number[];
}
