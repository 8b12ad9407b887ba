// One error body and one table from error codes to HTTP status, for every route.
import { BeemError, type BeemErrorCode } from "@beem-ts/core";
import type { Response } from "express";

/** Codes only the server raises, on top of the SDK's (`ERROR_CODES` in the core). */
export type ServerErrorCode =
  | "MALFORMED_REQUEST"
  | "INVALID_JSON"
  | "UNAUTHORIZED"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "INVALID_OPTION"
  | "QUEUE_FULL"
  | "NOT_READY"
  | "SHUTTING_DOWN"
  | "INTERNAL";

export type ErrorCode = BeemErrorCode | ServerErrorCode;

/**
 * HTTP status of every error code: keyed by the code union, so a code without a status fails
 * type checking. 500s answer "Internal error" and hide the message.
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
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
  INVALID_EXIT_LOG: 422,
  INVALID_POLICY: 422,
  UNSUPPORTED_POLICY_VERSION: 422,
  INVALID_DATA: 422,
  FILE_NOT_FOUND: 422,
  IMAGES_FAILED: 422,
  QUEUE_FULL: 429,
  NOT_READY: 503,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
  INVALID_STATE: 500,
  INVALID_BUNDLE: 500,
  MODEL_DISPOSED: 500,
  INVALID_CONFIG: 500,
  WRITE_FAILED: 500,
};

/** An error answered to the client: its code sets the status (see `STATUS_BY_CODE`). */
export class HttpError extends BeemError<ErrorCode> {
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
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
    const status = STATUS_BY_CODE[error.code as ErrorCode] ?? 500;
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
