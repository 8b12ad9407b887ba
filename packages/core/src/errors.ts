/**
 * Every error code the SDK's packages throw, with what it means. A caller (and the server's
 * status table) can rely on a `BeemError`'s code being one of these.
 */
export const ERROR_CODES = {
  INVALID_ARGUMENT: "an argument of a public function is out of its documented range",
  INVALID_EXIT_LOG: "an exit log line cannot be read",
  INVALID_POLICY: "a policy document is malformed",
  UNSUPPORTED_POLICY_VERSION: "a policy document has a version this release cannot read",
  INVALID_STATE: "a call that the object's state does not allow (e.g. deciding after exiting)",
  INVALID_BUNDLE: "a model bundle is missing a file or has a malformed manifest or graph",
  MODEL_DISPOSED: "a model was used after dispose()",
  FILE_NOT_FOUND: "an input file does not exist",
  UNSUPPORTED_IMAGE: "an image cannot be decoded",
  IMAGE_TOO_LARGE: "an image has more pixels than allowed",
  INVALID_DATA: "a data file (labelled texts) is malformed",
  INVALID_INPUT: "an input document (captions to score) is malformed",
  INVALID_CONFIG: "an environment setting is out of range",
  IMAGES_FAILED: "no image of a batch could be captioned",
  WRITE_FAILED: "an output file cannot be written",
} as const satisfies Record<string, string>;

export type BeemErrorCode = keyof typeof ERROR_CODES;

/**
 * An error with a stable `code` that callers (and the server) can branch on. `C` is the set of
 * codes; packages that add codes of their own (the server) widen it.
 */
export class BeemError<C extends string = BeemErrorCode> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
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
