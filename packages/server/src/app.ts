// createApp: wires the Express app over the caption and text runtimes: middleware, routes and
// the lifecycle. It starts loading the models at once and answers 503 until they are loaded; it
// never listens (see main.ts).
import { resolve } from "node:path";
import express, { type Express } from "express";
import { createInference, type Models } from "./batching.js";
import type { ServerContext } from "./context.js";
import { HttpError } from "./errors.js";
import { bearerCheck, errorHandler, noRoute, requestLog } from "./http.js";
import { startLifecycle } from "./lifecycle.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import { jsonLogger, type Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
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

export function createApp(options: AppOptions = {}): BeemApp {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const models: Models = {};
  const metrics = createMetrics({
    queues: { caption: () => inference.depth("caption"), text: () => inference.depth("text") },
  });
  const inference = createInference(models, limits, {
    captionBatch: (n) => metrics.captionBatchSize.observe(n),
    classifyBatch: (n) => metrics.classifyBatchSize.observe(n),
  });
  const ctx: ServerContext = {
    limits,
    models,
    serves: {
      caption: typeof options.captionModel === "string",
      text: typeof options.textModel === "string",
    },
    state: "loading",
    inference,
    metrics,
    log: options.logger ?? jsonLogger,
  };
  const lifecycle = startLifecycle(ctx, {
    captionModel: options.captionModel,
    textModel: options.textModel,
    threads: options.threads ?? 1,
  });

  const app = express() as unknown as BeemApp;
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.use(requestLog(ctx));
  if (options.page !== false)
    servePage(app, options.sweepDir === undefined ? DOCS_DIR : options.sweepDir);

  app.get("/healthz", healthRoute);
  app.get("/readyz", readyRoute(ctx));
  app.get("/openapi.json", openApiRoute(ctx));
  const v1 = express.Router();
  if (options.apiKey !== undefined) {
    v1.use(bearerCheck(options.apiKey));
    app.use("/metrics", bearerCheck(options.apiKey));
  }
  app.get("/metrics", metricsRoute(ctx));
  // Requests past this point are counted, so that close() lets them finish first.
  v1.use(lifecycle.admit);
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
  app.use(noRoute);
  app.use(errorHandler(ctx));

  app.ready = lifecycle.ready;
  app.close = lifecycle.close;
  return app;
}

/** The page's static files (it calls the API like any client) and the committed sweep it shows. */
function servePage(app: Express, sweepDir: string | null): void {
  app.use(express.static(PUBLIC_DIR, { index: "index.html", fallthrough: true }));
  // Browsers ask for /favicon.ico whatever the page links to.
  app.get("/favicon.ico", (_req, res) => {
    res.type("image/svg+xml").sendFile("favicon.svg", { root: PUBLIC_DIR });
  });
  if (sweepDir === null) return;
  for (const file of ["caption-sweep.json", "caption-sweep.svg"])
    app.get(`/sweep/${file}`, (_req, res, next) => {
      res.sendFile(file, { root: sweepDir }, (error) => {
        if (error) next(new HttpError("NOT_FOUND", `No committed sweep (${file})`));
      });
    });
}
