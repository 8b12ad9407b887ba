// POST /v1/caption: one image as the raw body, or several as multipart "image" parts; options
// as query parameters or form fields. `Accept: text/event-stream` streams the tokens of one
// image as server-sent events, with any error as the final event.
import type { CaptionResult, CaptionToken, Captioner } from "@beem-ts/caption";
import type { Request, Response } from "express";
import { requireModel, type ServerContext } from "../context.js";
import { HttpError, toErrorBody } from "../errors.js";
import { readImageBody } from "../image-body.js";
import { captionOptions, mergeOptionSources, type CaptionRequestOptions } from "../options.js";
import { serverTiming } from "../timing.js";

function tokenJson(t: CaptionToken) {
  return { text: t.text, id: t.id, exitLayer: t.exitLayer, confidence: t.confidence };
}

function resultJson(r: CaptionResult) {
  return {
    caption: r.text,
    tokens: r.tokens.map(tokenJson),
    meanExitLayer: r.meanExitLayer,
    timings: r.timings,
  };
}

export function captionRoute(ctx: ServerContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    const captioner = requireModel(ctx, "caption");
    const body = await readImageBody(req, ctx.limits);
    const fields = mergeOptionSources(req.query as Record<string, unknown>, body.fields);
    const options: CaptionRequestOptions = captionOptions(fields, {
      maxTokens: captioner.model.manifest.maxLength - 1,
      maxBeams: ctx.limits.maxBeams,
    });
    const model = captioner.model.manifest.id;
    const observe = (layers: readonly number[]) => {
      for (const l of layers) ctx.metrics.exitLayer.observe({ model }, l);
    };
    if ((req.headers.accept ?? "").includes("text/event-stream")) {
      if (body.images.length !== 1)
        throw new HttpError("INVALID_OPTION", "Streaming captions one image; send one");
      await streamCaption(ctx, captioner, body.images[0]!, options, req, res, started);
      return;
    }
    const results = await ctx.inference.caption(body.images, options);
    for (const r of results) if (r.ok) observe(r.result.tokens.map((t) => t.exitLayer));
    // Waiting (batch window and queue) and inference (the batch's own time), in milliseconds.
    const total = performance.now() - started;
    const inference = results.find((r) => r.ok)?.result.timings.totalMs ?? 0;
    res.setHeader(
      "Server-Timing",
      serverTiming({ wait: Math.max(0, total - inference), inference, total }),
    );
    if (body.images.length === 1) {
      const only = results[0]!;
      if (!only.ok) throw only.error;
      res.json({ model, ...resultJson(only.result) });
      return;
    }
    if (results.every((r) => !r.ok)) throw (results[0] as { error: Error }).error;
    res.json({
      model,
      results: results.map((r) => (r.ok ? resultJson(r.result) : toErrorBody(r.error).body)),
    });
  };
}

async function streamCaption(
  ctx: ServerContext,
  captioner: Captioner,
  image: Buffer,
  options: CaptionRequestOptions,
  req: Request,
  res: Response,
  started: number,
): Promise<void> {
  const model = captioner.model.manifest.id;
  await ctx.inference.inCaptionQueue(async () => {
    const tokens = captioner.stream(image, options);
    // The first token is awaited before answering, so that an unreadable image is still a
    // plain 4xx error rather than an event.
    let next = await tokens.next();
    let closed = false;
    req.on("close", () => {
      closed = true;
    });
    res.status(200);
    res.setHeader("Content-Type", "text/event-stream");
    res.setHeader("Cache-Control", "no-cache");
    res.flushHeaders();
    const send = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    try {
      while (next.done !== true && !closed) {
        ctx.metrics.exitLayer.observe({ model }, next.value.exitLayer);
        send("token", tokenJson(next.value));
        next = await tokens.next();
      }
      if (next.done === true) {
        // The same text and mean exit layer (end token included) as the plain answer.
        const result = next.value;
        send("done", {
          model,
          caption: result.text,
          meanExitLayer: result.meanExitLayer,
          timings: result.timings,
          totalMs: performance.now() - started,
        });
      } else await tokens.return(undefined as never);
    } catch (error) {
      send("error", toErrorBody(error).body);
      ctx.log({ level: "error", msg: "stream failed", error: String(error) });
    }
    res.end();
  });
}
