import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, silentLogger, type BeemApp } from "../src/index.js";
import { CAPTION_MODEL, SCENE, TEXT_MODEL, modelsPresent } from "./fixtures.js";

interface SseEvent {
  event: string;
  data: unknown;
}

function parseSse(text: string): SseEvent[] {
  return text
    .trim()
    .split("\n\n")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)![1]!;
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as unknown;
      return { event, data };
    });
}

describe.runIf(modelsPresent)("the server through createApp() with the bundled models", () => {
  let app: BeemApp;
  beforeAll(async () => {
    app = createApp({
      captionModel: CAPTION_MODEL,
      textModel: TEXT_MODEL,
      logger: silentLogger,
      limits: { batchWindowMs: 30 },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it("captions a raw image body with per-token exit layers, a request id and timings", async () => {
    const r = await request(app)
      .post("/v1/caption?lambda=0.01")
      .set("Content-Type", "image/png")
      .set("X-Request-Id", "test-42")
      .send(SCENE);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.headers["x-request-id"]).toBe("test-42");
    expect(r.headers["server-timing"]).toMatch(
      /wait;dur=[\d.]+, inference;dur=[\d.]+, total;dur=[\d.]+/,
    );
    expect(r.body.model).toBe("caption-beem");
    expect(r.body.caption).toBe("a kite next to a shamrock on a gray background");
    expect(r.body.tokens.map((t: { text: string }) => t.text).join(" ")).toBe(r.body.caption);
    for (const t of r.body.tokens) expect(t.exitLayer).toBeGreaterThanOrEqual(1);
    const full = await request(app)
      .post("/v1/caption?full=true")
      .set("Content-Type", "image/png")
      .send(SCENE);
    expect(full.body.tokens.every((t: { exitLayer: number }) => t.exitLayer === 6)).toBe(true);
    expect(full.body.meanExitLayer).toBe(6);
  });

  it("captions several multipart images, reporting a bad one in its place", async () => {
    const r = await request(app)
      .post("/v1/caption")
      .field("beams", "2")
      .attach("image", SCENE, "a.png")
      .attach("image", Buffer.from("no image here"), "b.png")
      .attach("image", SCENE, "c.png");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.results).toHaveLength(3);
    expect(r.body.results[0].caption).toMatch(/kite/);
    expect(r.body.results[1].error.code).toBe("UNSUPPORTED_IMAGE");
    expect(r.body.results[2].caption).toBe(r.body.results[0].caption);
  });

  it("batches concurrent caption requests, each image keeping its own exits", async () => {
    const alone = await request(app)
      .post("/v1/caption")
      .set("Content-Type", "image/png")
      .send(SCENE);
    const before = await batches(app, "caption");
    const together = await Promise.all(
      Array.from({ length: 5 }, () =>
        request(app).post("/v1/caption").set("Content-Type", "image/png").send(SCENE),
      ),
    );
    for (const r of together) {
      expect(r.status).toBe(200);
      expect(r.body.tokens.map((t: { exitLayer: number }) => t.exitLayer)).toEqual(
        alone.body.tokens.map((t: { exitLayer: number }) => t.exitLayer),
      );
    }
    const after = await batches(app, "caption");
    expect(after.count - before.count).toBeLessThan(5);
    expect(after.texts - before.texts).toBe(5);
  });

  it.each(["lambda=0.05", "full=true", "beams=2"])(
    "streams tokens as server-sent events, then the caption and mean exit layer the plain answer gives (%s)",
    async (query) => {
      const r = await request(app)
        .post(`/v1/caption?${query}`)
        .set("Accept", "text/event-stream")
        .set("Content-Type", "image/png")
        .buffer(true)
        .parse((res, done) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => done(null, text));
        })
        .send(SCENE);
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toMatch(/text\/event-stream/);
      const events = parseSse(r.body as string);
      const tokens = events.filter((e) => e.event === "token");
      const done = events.at(-1)!;
      expect(done.event).toBe("done");
      expect((done.data as { caption: string }).caption).toBe(
        tokens.map((t) => (t.data as { text: string }).text).join(" "),
      );
      const plain = await request(app)
        .post(`/v1/caption?${query}`)
        .set("Content-Type", "image/png")
        .send(SCENE);
      expect(plain.status).toBe(200);
      const streamed = done.data as { caption: string; meanExitLayer: number };
      expect(streamed.caption).toBe(plain.body.caption);
      // The end token counts in both (the token events, like the plain answer's tokens, omit it).
      expect(streamed.meanExitLayer).toBeCloseTo(plain.body.meanExitLayer, 12);
    },
  );

  it("times plain and streamed answers alike, early exit and full depth, image decoding included", async () => {
    type Timings = Record<"imageMs" | "encoderMs" | "decodeMs" | "totalMs" | "waitMs", number>;
    type Answer = { tokens?: { exitLayer: number }[]; endExitLayer: number | null };
    const answers: { timings: Timings; meanExitLayer: number; layers: number[] }[] = [];
    for (const query of ["lambda=0.01", "full=true"]) {
      const plain = await request(app)
        .post(`/v1/caption?${query}`)
        .set("Content-Type", "image/png")
        .send(SCENE);
      const streamed = await request(app)
        .post(`/v1/caption?${query}`)
        .set("Content-Type", "image/png")
        .set("Accept", "text/event-stream")
        .send(SCENE);
      const events = parseSse(streamed.text);
      const done = events.at(-1)!.data as Answer & { timings: Timings; meanExitLayer: number };
      const tokens = events.filter((e) => e.event === "token").map((e) => e.data as Answer);
      for (const [body, toks] of [
        [plain.body as Answer & { timings: Timings; meanExitLayer: number }, plain.body.tokens],
        [done, tokens],
      ] as const) {
        const layers = [
          ...(toks as { exitLayer: number }[]).map((t) => t.exitLayer),
          ...(body.endExitLayer === null ? [] : [body.endExitLayer]),
        ];
        answers.push({ timings: body.timings, meanExitLayer: body.meanExitLayer, layers });
      }
    }
    for (const { timings, meanExitLayer, layers } of answers) {
      expect(Object.keys(timings).sort()).toEqual(
        ["decodeMs", "encoderMs", "imageMs", "totalMs", "waitMs"].sort(),
      );
      const { imageMs, encoderMs, decodeMs, totalMs } = timings;
      expect(totalMs).toBeCloseTo(imageMs + encoderMs + decodeMs, 6);
      // Decoding the PNG (hundreds of microseconds at least) is in every answer's time.
      expect(imageMs).toBeGreaterThan(0.2);
      // The mean exit layer is that of the tokens shown and the end token.
      expect(layers.length).toBeGreaterThan(1);
      expect(meanExitLayer).toBeCloseTo(layers.reduce((a, b) => a + b, 0) / layers.length, 12);
    }
    expect(answers.slice(2).every((a) => a.meanExitLayer === 6)).toBe(true);
  });

  it("accepts rule=beem as beem-a, and refuses strings for numbers in JSON with 422", async () => {
    const caption = async (query: string) =>
      (await request(app).post(`/v1/caption?${query}`).set("Content-Type", "image/png").send(SCENE))
        .body as { tokens: unknown[] };
    expect((await caption("rule=beem&lambda=0.05")).tokens).toEqual(
      (await caption("rule=beem-a&lambda=0.05")).tokens,
    );
    const classify = (body: object) => request(app).post("/v1/classify").send(body);
    expect((await classify({ texts: ["fine"], rule: "beem", lambda: 0.1 })).status).toBe(200);
    for (const [body, message] of [
      [{ lambda: "0.1" }, /Expected lambda to be a finite number >= 0 but received "0.1"/],
      [{ maxLoss: "0.1" }, /Expected maxLoss to be a number in \(0, 1\) but received "0.1"/],
      [{ full: "true" }, /Expected full to be true or false but received "true"/],
      [{ rule: "deebert" }, /Expected rule to be one of beem-a, .* but received "deebert"/],
      [{ lamda: 0.1 }, /Unknown option "lamda"/],
    ] as const) {
      const r = await classify({ texts: ["fine"], ...body });
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body).toEqual({ error: { code: "INVALID_OPTION", message: expect.any(String) } });
      expect(r.body.error.message).toMatch(message);
    }
  });

  it("answers a bad image in a stream as a plain error, not an event", async () => {
    const r = await request(app)
      .post("/v1/caption")
      .set("Accept", "text/event-stream")
      .set("Content-Type", "image/png")
      .send(Buffer.from("garbage"));
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe("UNSUPPORTED_IMAGE");
  });

  it("classifies texts, with concurrent requests batched and each text exiting on its own", async () => {
    const texts = [
      "a gorgeous, witty, seductive movie.",
      "the worst film of the year",
      "it's a charming and often affecting journey.",
      "unfunny and lifeless",
    ];
    const alone = await request(app).post("/v1/classify").send({ texts });
    expect(alone.status, JSON.stringify(alone.body)).toBe(200);
    expect(alone.body.results.map((r: { label: string }) => r.label)).toEqual([
      "positive",
      "negative",
      "positive",
      "negative",
    ]);
    const before = await batches(app);
    const together = await Promise.all(
      texts.map((t) =>
        request(app)
          .post("/v1/classify")
          .send({ texts: [t] }),
      ),
    );
    together.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.results[0].label).toBe(alone.body.results[i].label);
      expect(r.body.results[0].confidence).toBeCloseTo(alone.body.results[i].confidence, 5);
    });
    const after = await batches(app);
    expect(after.count - before.count).toBeLessThan(texts.length);
    expect(after.texts - before.texts).toBe(texts.length);
  });

  it("takes maxLoss (with delta) instead of lambda, and refuses it out of (0, 1) or beside lambda", async () => {
    const texts = ["a gorgeous, witty, seductive movie.", "unfunny and lifeless"];
    const ok = await request(app).post("/v1/classify").send({ texts, maxLoss: 0.02, delta: 0.1 });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.results).toHaveLength(2);
    const caption = await request(app)
      .post("/v1/caption?maxLoss=0.05")
      .set("Content-Type", "image/png")
      .send(SCENE);
    expect(caption.status, JSON.stringify(caption.body)).toBe(200);
    for (const [body, message] of [
      [{ texts, maxLoss: 1 }, /Expected maxLoss to be a number in \(0, 1\) but received 1/],
      [{ texts, maxLoss: 0.1, delta: 0 }, /Expected delta to be a number in \(0, 1\)/],
      [{ texts, maxLoss: 0.1, lambda: 0.1 }, /Give either lambda or maxLoss, not both/],
      [{ texts, delta: 0.1 }, /delta goes with maxLoss/],
    ] as const) {
      const r = await request(app).post("/v1/classify").send(body);
      expect(r.status).toBe(422);
      expect(r.body.error.message).toMatch(message);
    }
  });

  it("answers 405 with Allow for a known route and the wrong method, 404 for an unknown one", async () => {
    const put = await request(app).put("/v1/caption").send("x");
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe("POST");
    expect(put.body.error).toMatchObject({ code: "METHOD_NOT_ALLOWED", message: /takes POST/ });
    const post = await request(app).post("/v1/models");
    expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
    expect((await request(app).get("/v1/nothing")).status).toBe(404);
  });

  it("refuses an option given as query parameter and form field with different values", async () => {
    const clash = await request(app)
      .post("/v1/caption?lambda=0.1")
      .field("lambda", "0.2")
      .attach("image", SCENE, "a.png");
    expect(clash.status).toBe(422);
    expect(clash.body.error.message).toMatch(/"lambda" is given both as a query parameter/);
    const same = await request(app)
      .post("/v1/caption?lambda=0.1")
      .field("lambda", "0.1")
      .attach("image", SCENE, "a.png");
    expect(same.status, JSON.stringify(same.body)).toBe(200);
  });

  it("lists models, reports health, readiness, metrics and the OpenAPI document", async () => {
    const models = await request(app).get("/v1/models");
    expect(models.body.models.map((m: { id: string }) => m.id)).toEqual([
      "caption-beem",
      "sst2-beem",
    ]);
    // The default policy's rule is one a request may name.
    for (const m of models.body.models as {
      defaultPolicy: { rule: string };
      rules: string[];
      ruleAliases: Record<string, string>;
    }[])
      expect(m.rules).toContain(m.ruleAliases[m.defaultPolicy.rule] ?? m.defaultPolicy.rule);
    expect((await request(app).get("/healthz")).body).toEqual({ status: "alive" });
    expect((await request(app).get("/readyz")).body).toEqual({ status: "ready" });
    const metrics = await request(app).get("/metrics");
    expect(metrics.text).toMatch(
      /beem_http_requests_total\{route="\/v1\/caption",status="200"\} \d+/,
    );
    expect(metrics.text).toMatch(/beem_exit_layer_bucket\{le="1",model="sst2-beem"\} \d+/);
    expect(metrics.text).toMatch(/beem_queue_depth\{queue="caption"\} 0/);
    const doc = await request(app).get("/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(["/v1/caption", "/v1/classify", "/v1/models", "/metrics"]),
    );
  });

  it.each([
    ["lambda=-1", /Expected lambda to be a finite number >= 0 but received "-1"/],
    ["lambda=abc", /Expected lambda to be a finite number >= 0 but received "abc"/],
    ["lambda=", /Expected lambda to be a finite number >= 0 but received ""/],
    ["rule=deebert", /Expected rule to be one of beem-a, .* but received "deebert"/],
    ["full=maybe", /Expected full to be true or false but received "maybe"/],
    ["delta=0.1", /delta goes with maxLoss/],
    ["maxLoss=0.1&lambda=0.1", /Give either lambda or maxLoss, not both/],
    ["beams=9", /Expected beams to be an integer from 1 to 4 but received "9"/],
    ["maxTokens=0", /Expected maxTokens to be an integer from 1 to 39/],
    ["lamda=0.1", /Unknown option "lamda"/],
    ["lambda=1&lambda=2", /Expected lambda to be given once/],
    ["full=true&lambda=1", /Give either full or rule\/lambda\/maxLoss, not both/],
  ])("refuses the caption option %s with 422 naming it", async (query, message) => {
    const r = await request(app)
      .post(`/v1/caption?${query}`)
      .set("Content-Type", "image/png")
      .send(SCENE);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("INVALID_OPTION");
    expect(r.body.error.message).toMatch(message);
  });
});

/** Batches run so far and the items in them, from /metrics. */
async function batches(
  app: BeemApp,
  kind: "classify" | "caption" = "classify",
): Promise<{ count: number; texts: number }> {
  const text = (await request(app).get("/metrics")).text;
  return {
    count: Number(new RegExp(`beem_${kind}_batch_size_count (\\d+)`).exec(text)![1]),
    texts: Number(new RegExp(`beem_${kind}_batch_size_sum (\\d+)`).exec(text)![1]),
  };
}

describe.runIf(modelsPresent)("the server's limits and lifecycle", () => {
  it("is alive but not ready while the models load, then ready", async () => {
    const app = createApp({ textModel: TEXT_MODEL, logger: silentLogger });
    const early = await request(app).get("/readyz");
    expect(early.status).toBe(503);
    expect(early.body.error.code).toBe("NOT_READY");
    expect((await request(app).get("/healthz")).status).toBe(200);
    await app.ready();
    expect((await request(app).get("/readyz")).status).toBe(200);
    const none = await request(app)
      .post("/v1/caption")
      .set("Content-Type", "image/png")
      .send(SCENE);
    expect(none.status).toBe(404);
    await app.close();
    const closed = await request(app)
      .post("/v1/classify")
      .send({ texts: ["x"] });
    expect(closed.status).toBe(503);
    expect(closed.body.error.code).toBe("SHUTTING_DOWN");
  });

  it("answers 429 with Retry-After when the queue is full", async () => {
    const app = createApp({
      captionModel: CAPTION_MODEL,
      logger: silentLogger,
      limits: { maxQueue: 0, maxCaptionBatch: 1 },
    });
    await app.ready();
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        request(app).post("/v1/caption?full=1").set("Content-Type", "image/png").send(SCENE),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    const busy = answers.find((r) => r.status === 429)!;
    expect(busy.headers["retry-after"]).toBe("1");
    expect(busy.body.error.code).toBe("QUEUE_FULL");
    await app.close();
  });

  it("needs the bearer token when an API key is set, on every model route", async () => {
    const app = createApp({ textModel: TEXT_MODEL, logger: silentLogger, apiKey: "s3cret" });
    await app.ready();
    const without = await request(app)
      .post("/v1/classify")
      .send({ texts: ["fine"] });
    expect(without.status).toBe(401);
    expect(without.body.error.code).toBe("UNAUTHORIZED");
    expect((await request(app).get("/v1/models").set("Authorization", "Bearer wrong")).status).toBe(
      401,
    );
    expect((await request(app).get("/metrics")).status).toBe(401);
    const withKey = await request(app)
      .post("/v1/classify")
      .set("Authorization", "Bearer s3cret")
      .send({ texts: ["fine"] });
    expect(withKey.status).toBe(200);
    expect((await request(app).get("/healthz")).status).toBe(200);
    await app.close();
  });
});

interface OptionSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** A value just past each bound of a numeric schema, and one inside (a bound when it is included). */
function probes(schema: OptionSchema): { outside: number[]; inside: number } {
  const step = schema.type === "integer" ? 1 : 1e-6;
  const outside: number[] = [];
  if (schema.minimum !== undefined) outside.push(schema.minimum - step);
  if (schema.exclusiveMinimum !== undefined) outside.push(schema.exclusiveMinimum);
  if (schema.maximum !== undefined) outside.push(schema.maximum + step);
  if (schema.exclusiveMaximum !== undefined) outside.push(schema.exclusiveMaximum);
  const low = schema.minimum ?? (schema.exclusiveMinimum ?? 0) + step;
  const high = schema.maximum ?? (schema.exclusiveMaximum ?? Infinity) - step;
  return { outside, inside: Math.min(low, high) };
}

describe.runIf(modelsPresent)("every numeric option of the OpenAPI document, at its bounds", () => {
  let app: BeemApp;
  beforeAll(async () => {
    app = createApp({ captionModel: CAPTION_MODEL, textModel: TEXT_MODEL, logger: silentLogger });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it("describes the server's own limits (beams, maxTokens, texts) and every rule", async () => {
    const doc = (await request(app).get("/openapi.json")).body;
    const params = doc.paths["/v1/caption"].post.parameters as { name: string; schema: object }[];
    const byName = Object.fromEntries(params.map((p) => [p.name, p.schema]));
    expect(byName.beams).toMatchObject({ type: "integer", minimum: 1, maximum: 4 });
    expect(byName.maxTokens).toMatchObject({ type: "integer", minimum: 1, maximum: 39 });
    const form =
      doc.paths["/v1/caption"].post.requestBody.content["multipart/form-data"].schema.properties;
    expect(form.rule.enum).toContain("beem-a");
    const body = doc.paths["/v1/classify"].post.requestBody.content["application/json"].schema;
    expect(body.properties.texts).toMatchObject({ minItems: 1, maxItems: 64 });
  });

  it("refuses a value just outside each bound with 422 and accepts one inside", async () => {
    const doc = (await request(app).get("/openapi.json")).body;
    const caption = doc.paths["/v1/caption"].post.parameters as {
      name: string;
      schema: OptionSchema;
    }[];
    const numeric = caption.filter((p) => ["number", "integer"].includes(p.schema.type ?? ""));
    expect(numeric.map((p) => p.name).sort()).toEqual(
      ["beams", "delta", "lambda", "maxLoss", "maxTokens"].sort(),
    );
    // delta goes with maxLoss; every other option stands alone.
    const companion = (name: string) => (name === "delta" ? "&maxLoss=0.2" : "");
    for (const { name, schema } of numeric) {
      const { outside, inside } = probes(schema);
      expect(outside.length, name).toBeGreaterThan(0);
      for (const value of outside) {
        const r = await request(app)
          .post(`/v1/caption?${name}=${value}${companion(name)}`)
          .set("Content-Type", "image/png")
          .send(SCENE);
        expect(r.status, `${name}=${value}`).toBe(422);
        expect(r.body.error.message).toContain(name);
      }
      const ok = await request(app)
        .post(`/v1/caption?${name}=${inside}${companion(name)}`)
        .set("Content-Type", "image/png")
        .send(SCENE);
      expect(ok.status, `${name}=${inside}: ${JSON.stringify(ok.body)}`).toBe(200);
    }
    const classify = doc.paths["/v1/classify"].post.requestBody.content["application/json"].schema
      .properties as Record<string, OptionSchema>;
    const classifyNumeric = Object.entries(classify).filter(([, s]) =>
      ["number", "integer"].includes(s.type ?? ""),
    );
    expect(classifyNumeric.map(([n]) => n).sort()).toEqual(["delta", "lambda", "maxLoss"]);
    for (const [name, schema] of classifyNumeric) {
      const { outside, inside } = probes(schema);
      const extra = name === "delta" ? { maxLoss: 0.2 } : {};
      for (const value of outside) {
        const r = await request(app)
          .post("/v1/classify")
          .send({ texts: ["fine"], [name]: value, ...extra });
        expect(r.status, `${name}=${value}`).toBe(422);
      }
      const ok = await request(app)
        .post("/v1/classify")
        .send({ texts: ["fine"], [name]: inside, ...extra });
      expect(ok.status, `${name}=${inside}: ${JSON.stringify(ok.body)}`).toBe(200);
    }
  });

  it("maps every error code the SDK throws to a status", async () => {
    const { ERROR_CODES } = await import("@beem-ts/core");
    const { STATUS_BY_CODE } = await import("../src/index.js");
    for (const code of Object.keys(ERROR_CODES))
      expect(STATUS_BY_CODE[code as keyof typeof STATUS_BY_CODE], code).toBeGreaterThanOrEqual(400);
  });
});
