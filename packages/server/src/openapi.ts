// The OpenAPI 3.1 description of every route (served at GET /openapi.json).
import { CALIBRATION_RULES } from "@beem-ts/core";

const error = { $ref: "#/components/responses/Error" };
const errorResponses = Object.fromEntries(
  ["400", "401", "405", "413", "415", "422", "429", "503"].map((status) => [status, error]),
);
const policyParams = [
  {
    name: "lambda",
    in: "query",
    description: "Cost parameter: larger exits earlier. Alone: BEEM-A fitted at this lambda.",
    schema: { type: "number", minimum: 0 },
  },
  {
    name: "rule",
    in: "query",
    description: "Exit rule, fitted on the bundle's calibration log at `lambda` (default 0).",
    schema: { type: "string", enum: CALIBRATION_RULES },
  },
  {
    name: "maxLoss",
    in: "query",
    description:
      "Instead of `lambda`: the fastest `rule` policy whose disagreement with full depth is at most this, with probability 1 - `delta` over the calibration log (Learn-then-Test).",
    schema: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
  },
  {
    name: "delta",
    in: "query",
    description: "With `maxLoss`: the probability the bound fails (default 0.1).",
    schema: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
  },
  {
    name: "full",
    in: "query",
    description: "Run every layer (no early exit).",
    schema: { type: "boolean" },
  },
];

export const OPENAPI = {
  openapi: "3.1.0",
  info: {
    title: "BEEM early-exit inference",
    version: "0.1.0",
    description:
      "Image captioning and text classification that stop at an intermediate layer when the layers so far agree (BEEM).",
  },
  paths: {
    "/v1/caption": {
      post: {
        summary: "Caption images, deciding per generated token where to stop",
        parameters: [
          ...policyParams,
          { name: "maxTokens", in: "query", schema: { type: "integer", minimum: 1 } },
          { name: "beams", in: "query", schema: { type: "integer", minimum: 1 } },
        ],
        requestBody: {
          required: true,
          content: {
            "image/*": { schema: { type: "string", format: "binary" } },
            "multipart/form-data": {
              schema: {
                type: "object",
                properties: {
                  image: { type: "array", items: { type: "string", format: "binary" } },
                  lambda: { type: "number", minimum: 0 },
                  rule: { type: "string", enum: CALIBRATION_RULES },
                  maxLoss: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
                  delta: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
                  maxTokens: { type: "integer" },
                  beams: { type: "integer" },
                  full: { type: "boolean" },
                },
                required: ["image"],
              },
            },
          },
        },
        responses: {
          "200": {
            description:
              "One image: the caption. Several: `results`, one per image, each a caption or an error body. With `Accept: text/event-stream`: `token` events, then `done` (or `error`).",
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/CaptionResponse" } },
              "text/event-stream": { schema: { type: "string" } },
            },
          },
          ...errorResponses,
        },
      },
    },
    "/v1/classify": {
      post: {
        summary: "Classify texts; each text exits at its own layer",
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["texts"],
                properties: {
                  texts: { type: "array", items: { type: "string" }, minItems: 1 },
                  lambda: { type: "number", minimum: 0 },
                  rule: { type: "string", enum: CALIBRATION_RULES },
                  maxLoss: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
                  delta: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
                  full: { type: "boolean" },
                },
              },
            },
          },
        },
        responses: {
          "200": {
            description: "One result per text",
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/ClassifyResponse" } },
            },
          },
          ...errorResponses,
        },
      },
    },
    "/v1/models": {
      get: { summary: "The models served", responses: { "200": { description: "Models" } } },
    },
    "/healthz": { get: { summary: "Alive", responses: { "200": { description: "Alive" } } } },
    "/readyz": {
      get: {
        summary: "Models loaded",
        responses: { "200": { description: "Ready" }, "503": error },
      },
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics",
        responses: { "200": { description: "Prometheus text format" } },
      },
    },
    "/openapi.json": {
      get: { summary: "This document", responses: { "200": { description: "OpenAPI" } } },
    },
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    responses: {
      Error: {
        description: "An error",
        content: {
          "application/json": {
            schema: {
              type: "object",
              properties: {
                error: {
                  type: "object",
                  properties: { code: { type: "string" }, message: { type: "string" } },
                  required: ["code", "message"],
                },
              },
            },
          },
        },
      },
    },
    schemas: {
      Token: {
        type: "object",
        properties: {
          text: { type: "string" },
          id: { type: "integer" },
          exitLayer: { type: "integer" },
          confidence: { type: "number" },
        },
      },
      Caption: {
        type: "object",
        properties: {
          caption: { type: "string" },
          tokens: { type: "array", items: { $ref: "#/components/schemas/Token" } },
          meanExitLayer: { type: "number" },
          timings: { type: "object" },
        },
      },
      CaptionResponse: {
        description: "One image: a Caption with the model id. Several: `results`.",
        allOf: [
          { $ref: "#/components/schemas/Caption" },
          {
            type: "object",
            properties: {
              model: { type: "string" },
              results: { type: "array", items: { $ref: "#/components/schemas/Caption" } },
            },
          },
        ],
      },
      ClassifyResponse: {
        type: "object",
        properties: {
          model: { type: "string" },
          results: {
            type: "array",
            items: {
              type: "object",
              properties: {
                label: { type: "string" },
                labelId: { type: "integer" },
                confidence: { type: "number" },
                probabilities: { type: "array", items: { type: "number" } },
                exitLayer: { type: "integer" },
                truncated: { type: "boolean" },
              },
            },
          },
        },
      },
    },
  },
  security: [{ bearer: [] }, {}],
} as const;
