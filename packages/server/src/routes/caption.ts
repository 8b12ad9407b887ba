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

/**
 * The timings of an answer, defined once for plain and streamed answers, early exit and full
 * depth (the OpenAPI document's `Timings`): image decoding, encoder, decoding loop and their
 * total, all work done for this image (a batch's when several images ran as one), and `waitMs`,
 * the rest of the server's time on the request (reading the body, the batch window, the queue).
 */
function timingsJson(r: CaptionResult, elapsedMs: number) {
  const { imageMs, encoderMs, decodeMs, totalMs } = r.timings;
  return { imageMs, encoderMs, decodeMs, totalMs, waitMs: Math.max(0, elapsedMs - totalMs) };
}

function resultJson(r: CaptionResult, elapsedMs: number) {
  return {
    caption: r.text,
    tokens: r.tokens.map(tokenJson),
    endExitLayer: r.endExitLayer,
    meanExitLayer: r.meanExitLayer,
    timings: timingsJson(r, elapsedMs),
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
    // Every decided token's layer, end token included, as meanExitLayer counts them.
    const observe = (r: CaptionResult) => {
      for (const l of r.exitLayers) ctx.metrics.observeExit(model, l);
    };
    if ((req.headers.accept ?? "").includes("text/event-stream")) {
      if (body.images.length !== 1)
        throw new HttpError("INVALID_OPTION", "Streaming captions one image; send one");
      await streamCaption(ctx, captioner, body.images[0]!, options, req, res, started);
      return;
    }
    const results = await ctx.inference.caption(body.images, options);
    for (const r of results) if (r.ok) observe(r.result);
    // Waiting (body, batch window and queue) and inference (the work for the image), in ms.
    const elapsed = performance.now() - started;
    const inference = results.find((r) => r.ok)?.result.timings.totalMs ?? 0;
    res.setHeader(
      "Server-Timing",
      serverTiming({ wait: Math.max(0, elapsed - inference), inference, total: elapsed }),
    );
    if (body.images.length === 1) {
      const only = results[0]!;
      if (!only.ok) throw only.error;
      res.json({ model, ...resultJson(only.result, elapsed) });
      return;
    }
    if (results.every((r) => !r.ok)) throw (results[0] as { error: Error }).error;
    res.json({
      model,
      results: results.map((r) =>
        r.ok ? resultJson(r.result, elapsed) : toErrorBody(r.error).body,
      ),
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
        send("token", tokenJson(next.value));
        next = await tokens.next();
      }
      if (next.done === true) {
        // The plain answer's fields, timings defined alike, without the tokens already sent.
        const { tokens: _sent, ...rest } = resultJson(next.value, performance.now() - started);
        for (const l of next.value.exitLayers) ctx.metrics.observeExit(model, l);
        send("done", { model, ...rest });
      } else await tokens.return(undefined as never);
    } catch (error) {
      send("error", toErrorBody(error).body);
      ctx.log({ level: "error", msg: "stream failed", error: String(error) });
    }
    res.end();
  });
}
