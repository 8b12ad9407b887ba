// Request options (query parameters, form fields, JSON members) checked into the runtimes'
// options. Unknown or repeated options are refused, so a typo never goes unnoticed.
import { CALIBRATION_RULES, type CalibrationRule } from "@beem-ts/core";
import { HttpError } from "./errors.js";

export interface PolicyOptions {
  readonly rule?: CalibrationRule;
  readonly lambda?: number;
  readonly full?: boolean;
  readonly maxLoss?: number;
  readonly delta?: number;
}

export interface CaptionRequestOptions extends PolicyOptions {
  readonly maxTokens?: number;
  readonly beams?: number;
}

function invalid(name: string, what: string, value: unknown): never {
  const shown =
    typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : JSON.stringify(value);
  throw new HttpError(
    "INVALID_OPTION",
    `Expected ${name} to be ${what} but received ${shown ?? String(value)}`,
  );
}

function single(name: string, value: unknown): unknown {
  if (Array.isArray(value)) invalid(name, "given once", value);
  return value;
}

function numberValue(name: string, value: unknown): number {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && value.trim() !== ""
        ? Number(value)
        : NaN;
  if (!Number.isFinite(n)) invalid(name, "a finite number", value);
  return n;
}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  const n = numberValue(name, value);
  if (!Number.isInteger(n) || n < min || n > max)
    invalid(name, `an integer from ${min} to ${max}`, value);
  return n;
}

function booleanValue(name: string, value: unknown): boolean {
  if (value === true || value === "true" || value === "1" || value === "") return true;
  if (value === false || value === "false" || value === "0") return false;
  return invalid(name, "true or false", value);
}

function checkKnown(fields: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(fields)) {
    if (!known.includes(key)) {
      throw new HttpError(
        "INVALID_OPTION",
        `Unknown option ${JSON.stringify(key.slice(0, 40))}; known: ${known.join(", ")}`,
      );
    }
  }
}

/**
 * Options from the query string and from form fields, as one set. An option given in both
 * places must have the same value there (which one was meant is not guessed).
 */
export function mergeOptionSources(
  query: Record<string, unknown>,
  form: Record<string, unknown>,
): Record<string, unknown> {
  for (const [key, value] of Object.entries(form)) {
    if (Object.hasOwn(query, key) && JSON.stringify(query[key]) !== JSON.stringify(value)) {
      throw new HttpError(
        "INVALID_OPTION",
        `Option ${JSON.stringify(key.slice(0, 40))} is given both as a query parameter and as a form field, with different values; give it once`,
      );
    }
  }
  return { ...query, ...form };
}

function policyOptions(fields: Record<string, unknown>): PolicyOptions {
  const rule = single("rule", fields.rule);
  const lambda = single("lambda", fields.lambda);
  const full = single("full", fields.full);
  const maxLoss = single("maxLoss", fields.maxLoss);
  const delta = single("delta", fields.delta);
  const openUnit = (name: string, value: unknown): number => {
    const n = numberValue(name, value);
    if (!(n > 0 && n < 1)) invalid(name, "a number in (0, 1)", value);
    return n;
  };
  const maxLossValue = maxLoss === undefined ? undefined : openUnit("maxLoss", maxLoss);
  const deltaValue = delta === undefined ? undefined : openUnit("delta", delta);
  if (maxLossValue !== undefined && lambda !== undefined)
    throw new HttpError("INVALID_OPTION", "Give either lambda or maxLoss, not both");
  if (deltaValue !== undefined && maxLossValue === undefined)
    throw new HttpError("INVALID_OPTION", "delta goes with maxLoss");
  let lambdaValue: number | undefined;
  if (lambda !== undefined) {
    lambdaValue = numberValue("lambda", lambda);
    if (lambdaValue < 0) invalid("lambda", "a finite number >= 0", lambda);
  }
  if (rule !== undefined && !(CALIBRATION_RULES as readonly unknown[]).includes(rule))
    invalid("rule", `one of ${CALIBRATION_RULES.join(", ")}`, rule);
  const fullValue = full === undefined ? undefined : booleanValue("full", full);
  if (fullValue === true && (rule !== undefined || lambda !== undefined || maxLoss !== undefined))
    throw new HttpError("INVALID_OPTION", "Give either full or rule/lambda/maxLoss, not both");
  return {
    ...(rule !== undefined && { rule: rule as CalibrationRule }),
    ...(lambdaValue !== undefined && { lambda: lambdaValue }),
    ...(maxLossValue !== undefined && { maxLoss: maxLossValue }),
    ...(deltaValue !== undefined && { delta: deltaValue }),
    ...(fullValue !== undefined && { full: fullValue }),
  };
}

export const POLICY_FIELDS = ["rule", "lambda", "maxLoss", "delta", "full"] as const;

export const CAPTION_OPTIONS = [...POLICY_FIELDS, "maxTokens", "beams"] as const;

export function captionOptions(
  fields: Record<string, unknown>,
  limits: { maxTokens: number; maxBeams: number },
): CaptionRequestOptions {
  checkKnown(fields, CAPTION_OPTIONS);
  const maxTokens = single("maxTokens", fields.maxTokens);
  const beams = single("beams", fields.beams);
  return {
    ...policyOptions(fields),
    ...(maxTokens !== undefined && {
      maxTokens: integerIn("maxTokens", maxTokens, 1, limits.maxTokens),
    }),
    ...(beams !== undefined && { beams: integerIn("beams", beams, 1, limits.maxBeams) }),
  };
}

export interface ClassifyRequest {
  readonly texts: string[];
  readonly options: PolicyOptions;
}

export function classifyRequest(
  body: unknown,
  limits: { maxTexts: number; maxTextChars: number },
): ClassifyRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new HttpError("MALFORMED_REQUEST", 'Expected a JSON object like {"texts": ["..."]}');
  const { texts, ...fields } = body as Record<string, unknown>;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === "string"))
    throw new HttpError("MALFORMED_REQUEST", 'Expected "texts" to be a non-empty array of strings');
  if (texts.length > limits.maxTexts)
    throw new HttpError(
      "PAYLOAD_TOO_LARGE",
      `At most ${limits.maxTexts} texts per request; received ${texts.length}`,
    );
  const long = texts.findIndex((t: string) => t.length > limits.maxTextChars);
  if (long >= 0)
    throw new HttpError(
      "PAYLOAD_TOO_LARGE",
      `texts[${long}] has more than ${limits.maxTextChars} characters`,
    );
  checkKnown(fields, POLICY_FIELDS);
  return { texts: texts as string[], options: policyOptions(fields) };
}
