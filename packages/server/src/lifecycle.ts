// Loading, readiness and shutdown: the models load in the background (503 until then), are
// warmed up before the server says it is ready, and are freed on close once the requests already
// taken have finished.
import { Captioner, PreparedImage } from "@beem-ts/caption";
import { TextClassifier } from "@beem-ts/text";
import type { NextFunction, Request, Response } from "express";
import type { Models } from "./batching.js";
import type { ServerContext } from "./context.js";
import { HttpError } from "./errors.js";
import type { Logger } from "./logger.js";

export interface ModelSources {
  readonly captionModel?: string | null | undefined;
  readonly textModel?: string | null | undefined;
  /** onnxruntime intra-op threads per layer graph. */
  readonly threads: number;
}

export interface Lifecycle {
  /** Resolves when every model is loaded and warm; rejects if one fails to load. */
  ready(): Promise<void>;
  /** Counts the requests past it and refuses new ones while closing or after a failed load. */
  admit(req: Request, res: Response, next: NextFunction): void;
  /** Stops taking requests (503), lets those already taken finish, frees the models. */
  close(): Promise<void>;
}

/**
 * Before the server says it is ready: runs every graph once (a session's first run is several
 * times slower than the next), a blank image early and at full depth and one text, and prepares
 * BEEM-A's calibrator on each calibration log (a second or so of work that would otherwise
 * block the first request with a lambda, and every request behind it).
 */
async function warmUp(models: Models, log: Logger): Promise<void> {
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

/** Starts loading the models into `ctx.models` at once. */
export function startLifecycle(ctx: ServerContext, sources: ModelSources): Lifecycle {
  const sessionOptions = { intraOpThreads: sources.threads };
  const loading = (async () => {
    if (typeof sources.captionModel === "string")
      ctx.models.caption = await Captioner.load(sources.captionModel, {
        ...sessionOptions,
        maxPixels: ctx.limits.maxPixels,
      });
    if (typeof sources.textModel === "string")
      ctx.models.text = await TextClassifier.load(sources.textModel, sessionOptions);
    ctx.metrics.useExitLayers(
      Math.max(ctx.models.caption?.numExits ?? 1, ctx.models.text?.numExits ?? 1),
    );
    await warmUp(ctx.models, ctx.log);
  })().then(
    () => {
      if (ctx.state === "loading") ctx.state = "ready";
      ctx.log({ level: "info", msg: "models loaded", models: Object.keys(ctx.models) });
    },
    (error: unknown) => {
      ctx.state = "failed";
      ctx.log({ level: "error", msg: "model loading failed", error: String(error) });
      throw error;
    },
  );
  loading.catch(() => {}); // reported through ready() and /readyz

  let inFlight = 0;
  // 503s are expected in these states: logged once per state, not per request.
  let refusingIn: string | undefined;
  const refuse = (code: "SHUTTING_DOWN" | "NOT_READY", message: string): never => {
    if (refusingIn !== ctx.state) {
      refusingIn = ctx.state;
      ctx.log({
        level: "info",
        msg: "refusing requests with 503",
        state: ctx.state,
        reason: message,
      });
    }
    throw new HttpError(code, message);
  };
  return {
    ready: () => loading,
    admit(_req, res, next) {
      if (ctx.state === "closing") refuse("SHUTTING_DOWN", "The server is shutting down");
      if (ctx.state === "failed") refuse("NOT_READY", "The models failed to load");
      inFlight++;
      let counted = true;
      const done = () => {
        if (counted) inFlight--;
        counted = false;
      };
      res.on("finish", done);
      res.on("close", done);
      next();
    },
    async close() {
      ctx.state = "closing";
      await loading.catch(() => {});
      // Queued work belongs to requests in flight, so this also drains the queues.
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
      await ctx.models.caption?.dispose();
      await ctx.models.text?.dispose();
    },
  };
}
