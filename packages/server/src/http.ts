// The HTTP plumbing around the routes: request ids and access logs, bearer authentication, 404
// and 405 answers, and the one error handler.
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { ServerContext } from "./context.js";
import { HttpError, fromBodyParser, sendError, toErrorBody } from "./errors.js";

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** Each route's method, for 405 answers (GET routes also answer HEAD). */
const ROUTE_METHODS: Readonly<Record<string, string>> = {
  "/healthz": "GET",
  "/readyz": "GET",
  "/openapi.json": "GET",
  "/metrics": "GET",
  "/v1/models": "GET",
  "/v1/caption": "POST",
  "/v1/classify": "POST",
};

/**
 * The label of a request in metrics and logs: the route's mounted path (the same for its
 * successes and its errors), "page" for the page's files, "unmatched" for anything else.
 */
export function routeLabel(req: Request, status: number): string {
  const path = req.originalUrl.split("?")[0]!.replace(/(.)\/$/, "$1");
  if (Object.hasOwn(ROUTE_METHODS, path)) return path;
  if (req.method === "GET" || req.method === "HEAD")
    if (status < 400 || path === "/" || path.startsWith("/sweep/")) return "page";
  return "unmatched";
}

/** Sets X-Request-Id (the client's when well-formed), then logs and counts the answer. */
export function requestLog(ctx: ServerContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.headers["x-request-id"];
    const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader("X-Request-Id", id);
    const started = performance.now();
    res.on("finish", () => {
      const ms = performance.now() - started;
      const route = routeLabel(req, res.statusCode);
      const status = String(res.statusCode);
      ctx.metrics.requests.inc({ route, status });
      ctx.metrics.latency.observe({ route, status }, ms / 1000);
      // A 503 is a state (loading, shutting down) the lifecycle logs once, not a failure per request.
      if (res.statusCode === 503 && ctx.state === "closing") return;
      ctx.log({
        level: res.statusCode >= 500 && res.statusCode !== 503 ? "error" : "info",
        msg: "request",
        requestId: id,
        method: req.method,
        route,
        path: req.originalUrl.split("?")[0]!.slice(0, 200),
        status: res.statusCode,
        ms: Number(ms.toFixed(2)),
      });
    });
    next();
  };
}

/** Refuses requests without `Authorization: Bearer <apiKey>` (compared in constant time). */
export function bearerCheck(apiKey: string) {
  const expected = createHash("sha256").update(apiKey).digest();
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? "";
    const given = createHash("sha256")
      .update(header.startsWith("Bearer ") ? header.slice(7) : "")
      .digest();
    if (!timingSafeEqual(given, expected))
      throw new HttpError("UNAUTHORIZED", "Missing or wrong bearer token");
    next();
  };
}

/** 405 with Allow for a known path asked with another method, else 404. */
export function noRoute(req: Request): never {
  const allowed = ROUTE_METHODS[req.path.replace(/\/$/, "")];
  if (allowed !== undefined)
    throw new HttpError("METHOD_NOT_ALLOWED", `${req.path} takes ${allowed}, not ${req.method}`, {
      headers: { Allow: allowed === "GET" ? "GET, HEAD" : allowed },
    });
  throw new HttpError("NOT_FOUND", `No route ${req.method} ${req.path.slice(0, 100)}`);
}

/**
 * The one error answer: the code's status and body; 500s are logged with their stack. A 503
 * (not ready, shutting down) is a state, not a failure: the lifecycle logs it once per state.
 */
export function errorHandler(ctx: ServerContext) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const mapped = fromBodyParser(error) ?? error;
    const { status } = toErrorBody(mapped);
    if (status >= 500 && status !== 503)
      ctx.log({
        level: "error",
        msg: "request failed",
        path: req.path,
        error: String((error as Error)?.stack ?? error),
      });
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, mapped);
  };
}
