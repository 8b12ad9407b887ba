// POST /v1/classify: JSON {"texts": [...], "lambda"?, "rule"?, "full"?}. Concurrent requests
// with the same options are classified as one batch, each text exiting at its own layer.
import type { Request, Response } from "express";
import { requireModel, type ServerContext } from "../context.js";
import { classifyRequest } from "../options.js";
import { serverTiming } from "../timing.js";

export function classifyRoute(ctx: ServerContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    const classifier = requireModel(ctx, "text");
    const { texts, options } = classifyRequest(req.body, ctx.limits);
    const model = classifier.manifest.id;
    const results = await ctx.inference.classify(texts, options);
    for (const r of results) ctx.metrics.observeExit(model, r.exitLayer);
    res.setHeader("Server-Timing", serverTiming({ total: performance.now() - started }));
    res.json({
      model,
      results: results.map((r) => ({
        label: r.label,
        labelId: r.labelId,
        confidence: r.confidence,
        probabilities: r.probabilities,
        exitLayer: r.exitLayer,
        truncated: r.truncated,
      })),
    });
  };
}
