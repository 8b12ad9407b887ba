// The OpenAPI 3.1 description of every route (served at GET /openapi.json). The request options
// are generated from the zod schemas the routes check requests with (options.ts), with this
// server's limits, so the document cannot drift from the checks.
import { z } from "zod";
import type { Limits } from "./limits.js";
import { captionOptionsSchema, classifyBodySchema } from "./options.js";

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> };

const error = { $ref: "#/components/responses/Error" };
const errorResponses = Object.fromEntries(
  ["400", "401", "405", "413", "415", "422", "429", "503"].map((status) => [status, error]),
);

function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "output" }) as JsonSchema;
  return rest;
}

/** One query parameter per schema property, its description moved up as OpenAPI places it. */
function queryParameters(schema: JsonSchema) {
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: "query", ...(description !== undefined && { description }), schema: rest };
  });
}

/**
 * The document for a server with these limits; `maxTokens` (the caption model's longest caption)
 * bounds that option once the model is loaded.
 */
export function openApiDocument(limits: Limits, options: { maxTokens?: number } = {}) {
  const captionOptions = jsonSchema(
    captionOptionsSchema({
      maxBeams: limits.maxBeams,
      ...(options.maxTokens !== undefined && { maxTokens: options.maxTokens }),
    }),
  );
  const classifyBody = jsonSchema(classifyBodySchema(limits));
  return {
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
          parameters: queryParameters(captionOptions),
          requestBody: {
            required: true,
            content: {
              "image/*": { schema: { type: "string", format: "binary" } },
              "multipart/form-data": {
                schema: {
                  ...captionOptions,
                  properties: {
                    image: {
                      type: "array",
                      items: { type: "string", format: "binary" },
                      maxItems: limits.maxImages,
                    },
                    ...captionOptions.properties,
                  },
                  required: ["image"],
                },
              },
            },
          },
          responses: {
            "200": {
              description:
                "One image: the caption. Several: `results`, one per image, each a caption or an error body. With `Accept: text/event-stream`: `token` events (a Token each), then `done` (a Caption without `tokens`, with `model`) or `error` (an error body).",
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
                schema: classifyBody,
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
        Timings: {
          type: "object",
          description:
            "Milliseconds, defined alike for plain and streamed answers, early exit and full depth. For several images captioned as one batch, the batch's.",
          properties: {
            imageMs: { type: "number", description: "Decoding the image file into pixels." },
            encoderMs: { type: "number", description: "The image encoder." },
            decodeMs: {
              type: "number",
              description: "The decoding loop: every generated token, end token included.",
            },
            totalMs: {
              type: "number",
              description:
                "imageMs + encoderMs + decodeMs: the work for this image, from its file to its last token. Compare early exit and full depth with this.",
            },
            waitMs: {
              type: "number",
              description:
                "The rest of the server's time on the request: reading the body, the batch window and the queue.",
            },
          },
          required: ["imageMs", "encoderMs", "decodeMs", "totalMs", "waitMs"],
        },
        Caption: {
          type: "object",
          properties: {
            caption: { type: "string" },
            tokens: { type: "array", items: { $ref: "#/components/schemas/Token" } },
            endExitLayer: {
              type: ["integer", "null"],
              description:
                "The end token's exit layer; null when the caption was cut at maxTokens.",
            },
            meanExitLayer: {
              type: "number",
              description:
                "Mean exit layer of the tokens and the end token (it costs layers like any token).",
            },
            timings: { $ref: "#/components/schemas/Timings" },
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
  };
}
