// GET /v1/models, /healthz, /readyz, /metrics and /openapi.json.
import { CALIBRATION_RULES, RULE_ALIASES } from "@beem-ts/core";
import type { Request, Response } from "express";
import type { ServerContext } from "../context.js";
import { HttpError } from "../errors.js";
import { openApiDocument } from "../openapi.js";

export function modelsRoute(ctx: ServerContext) {
  return (_req: Request, res: Response): void => {
    const models = [];
    const { caption, text } = ctx.models;
    if (caption !== undefined) {
      models.push({
        id: caption.model.manifest.id,
        task: "image-captioning",
        route: "/v1/caption",
        numExits: caption.numExits,
        defaultPolicy: { rule: caption.defaultPolicy.rule, lambda: caption.defaultPolicy.lambda },
        rules: CALIBRATION_RULES,
        // `beem`, the rule a BEEM policy reports (as defaultPolicy does), is taken as beem-a.
        ruleAliases: RULE_ALIASES,
      });
    }
    if (text !== undefined) {
      models.push({
        id: text.manifest.id,
        task: "text-classification",
        route: "/v1/classify",
        numExits: text.numExits,
        labels: text.labels,
        defaultPolicy: { rule: text.defaultPolicy.rule, lambda: text.defaultPolicy.lambda },
        rules: CALIBRATION_RULES,
        // `beem`, the rule a BEEM policy reports (as defaultPolicy does), is taken as beem-a.
        ruleAliases: RULE_ALIASES,
      });
    }
    res.json({ models });
  };
}

export function healthRoute(_req: Request, res: Response): void {
  res.json({ status: "alive" });
}

export function readyRoute(ctx: ServerContext) {
  return (_req: Request, res: Response): void => {
    if (ctx.state !== "ready")
      throw new HttpError("NOT_READY", `The server is not ready (${ctx.state})`);
    res.json({ status: "ready" });
  };
}

export function metricsRoute(ctx: ServerContext) {
  return async (_req: Request, res: Response): Promise<void> => {
    res.setHeader("Content-Type", ctx.metrics.registry.contentType);
    res.send(await ctx.metrics.registry.metrics());
  };
}

/** The document for this server's limits, with the caption model's length once it is loaded. */
export function openApiRoute(ctx: ServerContext) {
  return (_req: Request, res: Response): void => {
    const caption = ctx.models.caption;
    res.json(
      openApiDocument(
        ctx.limits,
        caption === undefined ? {} : { maxTokens: caption.model.manifest.maxLength - 1 },
      ),
    );
  };
}
