/** Stable error codes of the core; other packages add their own. */
export type BeemErrorCode =
  "INVALID_ARGUMENT" | "INVALID_EXIT_LOG" | "INVALID_POLICY" | "UNSUPPORTED_POLICY_VERSION";

/** An error with a stable `code` that callers (and the server) can branch on. */
export class BeemError extends Error {
  readonly code: string;

  constructor(code: BeemErrorCode | (string & {}), message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BeemError";
    this.code = code;
  }
}

/** Renders a received value for an error message, briefly. */
export function describe(value: unknown): string {
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : String(value);
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value === null) return "null";
  return typeof value;
}

/** Throws `INVALID_ARGUMENT` in the shape `Expected NAME to be WHAT but received VALUE`. */
export function invalidArgument(name: string, what: string, value: unknown): never {
  throw new BeemError(
    "INVALID_ARGUMENT",
    `Expected ${name} to be ${what} but received ${describe(value)}`,
  );
}
