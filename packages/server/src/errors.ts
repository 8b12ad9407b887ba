// One error body and one table from error codes to HTTP status, for every route.
import { BeemError } from "@beem-ts/core";
import type { Response } from "express";

/** HTTP status of each error code; anything else is a 500. */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  MALFORMED_REQUEST: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  IMAGE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_IMAGE: 415,
  INVALID_OPTION: 422,
  INVALID_ARGUMENT: 422,
  INVALID_INPUT: 422,
  QUEUE_FULL: 429,
  NOT_READY: 503,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
};

/** An error answered to the client: its code sets the status (see `STATUS_BY_CODE`). */
export class HttpError extends BeemError {
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.headers = options.headers ?? {};
  }
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** The status and body for any thrown value; unknown errors do not leak their message. */
export function toErrorBody(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof BeemError) {
    const status = STATUS_BY_CODE[error.code] ?? 500;
    const message = status === 500 ? "Internal error" : error.message;
    return { status, body: { error: { code: status === 500 ? "INTERNAL" : error.code, message } } };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: "Internal error" } } };
}

export function sendError(res: Response, error: unknown): void {
  const { status, body } = toErrorBody(error);
  if (error instanceof HttpError)
    for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
  res.status(status).json(body);
}

/** Errors raised by Express' body parsers, as our codes. */
export function fromBodyParser(error: unknown): HttpError | undefined {
  const e = error as { type?: string; status?: number; message?: string };
  if (typeof e?.type !== "string") return undefined;
  switch (e.type) {
    case "entity.too.large":
      return new HttpError("PAYLOAD_TOO_LARGE", "The request body is larger than the limit", {
        cause: error,
      });
    case "entity.parse.failed":
      return new HttpError("INVALID_JSON", `The body is not valid JSON (${e.message})`, {
        cause: error,
      });
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HttpError("UNSUPPORTED_MEDIA_TYPE", e.message ?? "Unsupported encoding", {
        cause: error,
      });
    default:
      return new HttpError("MALFORMED_REQUEST", e.message ?? "Malformed request", { cause: error });
  }
}
