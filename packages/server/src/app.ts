// createApp: the Express app over the caption and text runtimes. It starts loading the models
// at once and answers 503 until they are loaded; it never listens (see main.ts).
import { randomUUID, createHash, timingSafeEqual } from "node:crypto";
import { resolve } from "node:path";
import { Captioner, PreparedImage, type BatchCaption, type ImageInput } from "@beem-ts/caption";
import { TextClassifier, type Classification } from "@beem-ts/text";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { Batcher } from "./batcher.js";
import type { ServerContext } from "./context.js";
import { HttpError, fromBodyParser, sendError, toErrorBody } from "./errors.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import { jsonLogger, type Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import type { CaptionRequestOptions, PolicyOptions } from "./options.js";
import { WorkQueue } from "./queue.js";
import { captionRoute } from "./routes/caption.js";
import { classifyRoute } from "./routes/classify.js";
import { healthRoute, metricsRoute, modelsRoute, openApiRoute, readyRoute } from "./routes/meta.js";

export interface AppOptions {
  /** Caption bundle folder; null serves no captioning. Default: none. */
  readonly captionModel?: string | null;
  /** Text bundle folder; null serves no classification. Default: none. */
  readonly textModel?: string | null;
  /** Limits; each missing one takes its default (see `DEFAULT_LIMITS`). */
  readonly limits?: Partial<Limits>;
  /** When set, /v1/* and /metrics need `Authorization: Bearer <apiKey>`. Default: none. */
  readonly apiKey?: string;
  /** onnxruntime intra-op threads per layer graph. Default 1 (the caption encoder uses two). */
  readonly threads?: number;
  /** Where structured logs go. Default: JSON lines on standard output. */
  readonly logger?: Logger;
  /** Serve the demo page at `/` (public/). Default true. */
  readonly page?: boolean;
  /**
   * Folder holding a committed `caption-sweep.json` and `.svg` (`beem caption-sweep`) that the
   * page's trade-off view shows; null for none. Default: the repository's docs/ folder.
   */
  readonly sweepDir?: string | null;
}

const PUBLIC_DIR = resolve(import.meta.dirname, "../public");
const DOCS_DIR = resolve(import.meta.dirname, "../../../docs");

export interface BeemApp extends Express {
  /** Resolves when every model is loaded; rejects if one fails to load. */
  ready(): Promise<void>;
  /** Stops taking requests (503), lets the requests already taken finish, frees the models. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/**
 * Before the server says it is ready: runs every graph once (a session's first run is several
 * times slower than the next), a blank image early and at full depth and one text, and prepares
 * BEEM-A's calibrator on each calibration log (a second or so of work that would otherwise
 * block the first request with a lambda, and every request behind it).
 */
async function warmUp(models: ServerContext["models"], log: Logger): Promise<void> {
  const prepared = [models.caption, models.text].map((m) =>
    m?.policyFor({ rule: "beem-a", lambda: 0 }).catch((error: unknown) => {
      log({ level: "warn", msg: "calibration log not usable", error: String(error) });
    }),
  );
  await Promise.all(prepared);
  const caption = models.caption;
  if (caption !== undefined) {
    const spec = caption.model.manifest.image;
    const blank = new PreparedImage(new Float32Array(3 * spec.size * spec.size), spec);
    await caption.caption(blank);
    await caption.caption(blank, { full: true });
  }
  if (models.text !== undefined) {
    await models.text.classify("warm up");
    await models.text.classify("warm up", { full: true });
  }
}

function bearerCheck(apiKey: string) {
  const expected = createHash("sha256").update(apiKey).digest();
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? "";
    const given = createHash("sha256")
      .update(header.startsWith("Bearer ") ? header.slice(7) : "")
      .digest();
    if (!timingSafeEqual(given, expected))
      throw new HttpError("UNAUTHORIZED", "Missing or wrong bearer token");
    next();
  };
}

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

export function createApp(options: AppOptions = {}): BeemApp {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.logger ?? jsonLogger;
  const captionQueue = new WorkQueue({ maxWaiting: limits.maxQueue });
  const textQueue = new WorkQueue({ maxWaiting: limits.maxQueue });
  const batching = { windowMs: limits.batchWindowMs, maxWaiting: limits.maxQueue };
  const captionBatcher = new Batcher<ImageInput, CaptionRequestOptions, BatchCaption>(
    (images, choice) =>
      captionQueue.run(() => {
        ctx.metrics.captionBatchSize.observe(images.length);
        return ctx.models.caption!.captionBatch(images, choice);
      }),
    { ...batching, maxBatch: limits.maxCaptionBatch },
  );
  const classifyBatcher = new Batcher<string, PolicyOptions, Classification>(
    (texts, choice) =>
      textQueue.run(() => {
        ctx.metrics.classifyBatchSize.observe(texts.length);
        return ctx.models.text!.classify(texts, { ...choice, batchSize: limits.maxBatch });
      }),
    { ...batching, maxBatch: limits.maxBatch },
  );
  const ctx: ServerContext = {
    limits,
    models: {},
    serves: {
      caption: typeof options.captionModel === "string",
      text: typeof options.textModel === "string",
    },
    state: "loading",
    captionQueue,
    captionBatcher,
    classifyBatcher,
    metrics: createMetrics({
      maxLayers: 32,
      queues: {
        caption: () => captionQueue.depth + captionBatcher.waiting,
        text: () => textQueue.depth + classifyBatcher.waiting,
      },
    }),
    log,
  };
  const sessionOptions = { intraOpThreads: options.threads ?? 1 };
  const loading = (async () => {
    if (typeof options.captionModel === "string")
      ctx.models.caption = await Captioner.load(options.captionModel, {
        ...sessionOptions,
        maxPixels: limits.maxPixels,
      });
    if (typeof options.textModel === "string")
      ctx.models.text = await TextClassifier.load(options.textModel, sessionOptions);
    await warmUp(ctx.models, log);
  })().then(
    () => {
      if (ctx.state === "loading") ctx.state = "ready";
      log({ level: "info", msg: "models loaded", models: Object.keys(ctx.models) });
    },
    (error: unknown) => {
      ctx.state = "failed";
      log({ level: "error", msg: "model loading failed", error: String(error) });
      throw error;
    },
  );
  loading.catch(() => {}); // reported through ready() and /readyz

  const app = express() as unknown as BeemApp;
  app.disable("x-powered-by");
  app.set("query parser", "simple");

  app.use((req, res, next) => {
    const given = req.headers["x-request-id"];
    const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader("X-Request-Id", id);
    const started = performance.now();
    res.on("finish", () => {
      const ms = performance.now() - started;
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      const status = String(res.statusCode);
      ctx.metrics.requests.inc({ route, status });
      ctx.metrics.latency.observe({ route, status }, ms / 1000);
      log({
        level: res.statusCode >= 500 ? "error" : "info",
        msg: "request",
        requestId: id,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Number(ms.toFixed(2)),
      });
    });
    next();
  });

  if (options.page !== false) {
    // The page: static files only; it calls the API like any client.
    app.use(express.static(PUBLIC_DIR, { index: "index.html", fallthrough: true }));
    const sweepDir = options.sweepDir === undefined ? DOCS_DIR : options.sweepDir;
    if (sweepDir !== null) {
      for (const file of ["caption-sweep.json", "caption-sweep.svg"])
        app.get(`/sweep/${file}`, (_req, res, next) => {
          res.sendFile(file, { root: sweepDir }, (error) => {
            if (error) next(new HttpError("NOT_FOUND", `No committed sweep (${file})`));
          });
        });
    }
  }

  app.get("/healthz", healthRoute);
  app.get("/readyz", readyRoute(ctx));
  app.get("/openapi.json", openApiRoute);

  const v1 = express.Router();
  if (options.apiKey !== undefined) {
    v1.use(bearerCheck(options.apiKey));
    app.use("/metrics", bearerCheck(options.apiKey));
  }
  app.get("/metrics", metricsRoute(ctx));
  // Requests past this point are counted, so that close() lets them finish first.
  let inFlight = 0;
  v1.use((_req, res, next) => {
    if (ctx.state === "closing")
      throw new HttpError("SHUTTING_DOWN", "The server is shutting down");
    if (ctx.state === "failed") throw new HttpError("NOT_READY", "The models failed to load");
    inFlight++;
    let counted = true;
    const done = () => {
      if (counted) inFlight--;
      counted = false;
    };
    res.on("finish", done);
    res.on("close", done);
    next();
  });
  v1.get("/models", modelsRoute(ctx));
  v1.post("/caption", captionRoute(ctx));
  v1.post(
    "/classify",
    (req, _res, next) => {
      if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json"))
        throw new HttpError("UNSUPPORTED_MEDIA_TYPE", "Send the texts as application/json");
      next();
    },
    express.json({ limit: limits.maxBodyBytes, strict: false, type: () => true }),
    classifyRoute(ctx),
  );
  app.use("/v1", v1);

  app.use((req) => {
    const allowed = ROUTE_METHODS[req.path.replace(/\/$/, "")];
    if (allowed !== undefined)
      throw new HttpError("METHOD_NOT_ALLOWED", `${req.path} takes ${allowed}, not ${req.method}`, {
        headers: { Allow: allowed === "GET" ? "GET, HEAD" : allowed },
      });
    throw new HttpError("NOT_FOUND", `No route ${req.method} ${req.path.slice(0, 100)}`);
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const mapped = fromBodyParser(error) ?? error;
    const { status } = toErrorBody(mapped);
    if (status >= 500)
      log({
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
  });

  app.ready = () => loading;
  app.close = async () => {
    ctx.state = "closing";
    await loading.catch(() => {});
    // Queued work belongs to requests in flight, so this also drains the queues.
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    await ctx.models.caption?.dispose();
    await ctx.models.text?.dispose();
  };
  return app;
}
