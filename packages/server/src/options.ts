// Request options declared once, as zod schemas: the routes check requests with them, the
// option types are inferred from them, and /openapi.json describes them from the same objects
// (openapi.ts). Query parameters and form fields arrive as text and are read as numbers and
// booleans here; JSON members must have their JSON type ("lambda": "0.1" is refused). Unknown or
// repeated options are refused, so a typo never goes unnoticed.
import { CALIBRATION_RULES, unalias } from "@beem-ts/core";
import { z } from "zod";
import { HttpError } from "./errors.js";

/** A parsed object's optional members without `| undefined` (zod leaves absent keys out). */
type Given<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/** Text from a query string or a form field as a number; anything else is left to the schema. */
function numberFromText(value: unknown): unknown {
  return typeof value === "string" && value.trim() !== "" ? Number(value) : value;
}

function booleanFromText(value: unknown): unknown {
  if (value === "true" || value === "1" || value === "") return true;
  if (value === "false" || value === "0") return false;
  return value;
}

/** A rule's alias (`beem`) as the rule it names (`beem-a`); anything else as given. */
function ruleFromAlias(value: unknown): unknown {
  return typeof value === "string" ? unalias(value) : value;
}

/**
 * The policy options, for query parameters and form fields (`text`: numbers and booleans arrive
 * as text and are read as such) or for a JSON body (`json`: numbers must be JSON numbers and
 * booleans JSON booleans; "0.1" is refused, as the OpenAPI document's types say).
 */
function policyShape(source: "text" | "json") {
  const number = (schema: z.ZodNumber, description: string) =>
    source === "text"
      ? z.preprocess(numberFromText, schema).optional().describe(description)
      : schema.optional().describe(description);
  const full = "Run every layer (no early exit).";
  return {
    number,
    shape: {
      rule: z
        .preprocess(ruleFromAlias, z.enum(CALIBRATION_RULES))
        .optional()
        .describe(
          "Exit rule, fitted on the bundle's calibration log at `lambda` (default 0); `beem` is accepted as `beem-a`.",
        ),
      lambda: number(
        z.number().min(0),
        "Cost parameter: larger exits earlier. Alone: BEEM-A fitted at this lambda.",
      ),
      maxLoss: number(
        z.number().gt(0).lt(1),
        "Instead of `lambda`: the fastest `rule` policy whose disagreement with full depth is at most this, with probability 1 - `delta` over the calibration log (Learn-then-Test).",
      ),
      delta: number(
        z.number().gt(0).lt(1),
        "With `maxLoss`: the probability the bound fails (default 0.1).",
      ),
      full:
        source === "text"
          ? z.preprocess(booleanFromText, z.boolean()).optional().describe(full)
          : z.boolean().optional().describe(full),
    },
  };
}

const TEXT = policyShape("text");
const POLICY_SHAPE = TEXT.shape;
const number = TEXT.number;

/** The choices that exclude each other, checked after each option is. */
function checkPolicyCombination(
  o: { rule?: unknown; lambda?: unknown; maxLoss?: unknown; delta?: unknown; full?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (o.maxLoss !== undefined && o.lambda !== undefined)
    ctx.addIssue({ code: "custom", message: "Give either lambda or maxLoss, not both" });
  if (o.delta !== undefined && o.maxLoss === undefined)
    ctx.addIssue({ code: "custom", message: "delta goes with maxLoss" });
  if (
    o.full === true &&
    (o.rule !== undefined || o.lambda !== undefined || o.maxLoss !== undefined)
  )
    ctx.addIssue({
      code: "custom",
      message: "Give either full or rule/lambda/maxLoss, not both",
    });
}

export const policyOptionsSchema = z.strictObject(POLICY_SHAPE).superRefine(checkPolicyCombination);

export type PolicyOptions = Given<z.output<typeof policyOptionsSchema>>;

/** `build` once per distinct argument (the schemas below depend only on the server's limits). */
function once<A, R>(build: (a: A) => R): (a: A) => R {
  const built = new Map<string, R>();
  return (a) => {
    const key = JSON.stringify(a);
    let r = built.get(key);
    if (r === undefined) built.set(key, (r = build(a)));
    return r;
  };
}

/** Caption options; `maxTokens` is bounded by the model's maximum length once it is known. */
export const captionOptionsSchema = once((limits: { maxTokens?: number; maxBeams: number }) => {
  const maxTokens = z.number().int().min(1);
  return z
    .strictObject({
      ...POLICY_SHAPE,
      maxTokens: number(
        limits.maxTokens === undefined ? maxTokens : maxTokens.max(limits.maxTokens),
        "Most tokens to generate (default: the model's maximum length).",
      ),
      beams: number(
        z.number().int().min(1).max(limits.maxBeams),
        "Beam width; 1 decodes greedily (default 1).",
      ),
    })
    .superRefine(checkPolicyCombination);
});

export type CaptionRequestOptions = Given<z.output<ReturnType<typeof captionOptionsSchema>>>;

/** The JSON body of POST /v1/classify. */
export const classifyBodySchema = once((limits: { maxTexts: number; maxTextChars: number }) =>
  z
    .strictObject({
      texts: z
        .array(z.string().max(limits.maxTextChars))
        .min(1)
        .max(limits.maxTexts)
        .describe(
          `The texts to classify: 1 to ${limits.maxTexts}, each at most ${limits.maxTextChars} characters.`,
        ),
      ...policyShape("json").shape,
    })
    .superRefine(checkPolicyCombination),
);

export interface ClassifyRequest {
  readonly texts: string[];
  readonly options: PolicyOptions;
}

/** How a JSON schema's bounds read in an error message. */
function expected(schema: Record<string, unknown> | undefined): string {
  if (schema === undefined) return "valid";
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.join(", ")}`;
  if (schema.type === "boolean") return "true or false";
  const { minimum, maximum, exclusiveMinimum: above, exclusiveMaximum: below } = schema;
  if (schema.type === "integer") {
    if (maximum !== undefined) return `an integer from ${String(minimum)} to ${String(maximum)}`;
    return `an integer >= ${String(minimum)}`;
  }
  if (above !== undefined && below !== undefined)
    return `a number in (${String(above)}, ${String(below)})`;
  if (minimum !== undefined) return `a finite number >= ${String(minimum)}`;
  return "a finite number";
}

function shown(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(value.slice(0, 40))
    : (JSON.stringify(value) ?? String(value));
}

/**
 * Checks `fields` against `schema`; the first problem becomes an HttpError naming the option,
 * what it must be (read from the same schema the OpenAPI document shows) and what was received.
 */
function parseWith<S extends z.ZodType>(
  schema: S,
  fields: Record<string, unknown>,
): Given<z.output<S>> {
  const result = schema.safeParse(fields);
  if (result.success) return result.data as Given<z.output<S>>;
  const issue = result.error.issues[0]!;
  const key = issue.path[0];
  if (issue.code === "unrecognized_keys") {
    const known = Object.keys(
      (z.toJSONSchema(schema, { io: "output" }).properties as object | undefined) ?? {},
    );
    throw new HttpError(
      "INVALID_OPTION",
      `Unknown option ${JSON.stringify(issue.keys[0]!.slice(0, 40))}; known: ${known.join(", ")}`,
    );
  }
  if (typeof key !== "string" || issue.code === "custom")
    throw new HttpError("INVALID_OPTION", issue.message);
  const value = fields[key];
  if (Array.isArray(value) && issue.path.length === 1)
    throw new HttpError("INVALID_OPTION", `Expected ${key} to be given once`);
  const properties = z.toJSONSchema(schema, { io: "output" }).properties as
    Record<string, Record<string, unknown>> | undefined;
  throw new HttpError(
    "INVALID_OPTION",
    `Expected ${key} to be ${expected(properties?.[key])} but received ${shown(value)}`,
  );
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

export function captionOptions(
  fields: Record<string, unknown>,
  limits: { maxTokens: number; maxBeams: number },
): CaptionRequestOptions {
  return parseWith(captionOptionsSchema(limits), fields);
}

export function classifyRequest(
  body: unknown,
  limits: { maxTexts: number; maxTextChars: number },
): ClassifyRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new HttpError("MALFORMED_REQUEST", 'Expected a JSON object like {"texts": ["..."]}');
  const fields = body as Record<string, unknown>;
  const texts = fields.texts;
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
  const { texts: checked, ...options } = parseWith(classifyBodySchema(limits), fields);
  return { texts: checked!, options };
}
