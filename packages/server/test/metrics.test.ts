// /metrics and the JSON log after a known set of requests: the same route label for a route's
// successes and errors in both, page files under their own label, process metrics under one
// prefix, and exit-layer buckets from the loaded models' exits.
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type BeemApp } from "../src/index.js";
import { CAPTION_MODEL, SCENE, TEXT_MODEL, modelsPresent } from "./fixtures.js";

/** The value of one sample line of the Prometheus text, 0 when it is absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

describe.runIf(modelsPresent)("metrics and logs after known requests", () => {
  let app: BeemApp;
  const log: Record<string, unknown>[] = [];
  beforeAll(async () => {
    app = createApp({
      captionModel: CAPTION_MODEL,
      textModel: TEXT_MODEL,
      logger: (entry) => log.push(entry),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it("counts each route under its mounted path, errors included, as the log names it", async () => {
    const plain = await request(app)
      .post("/v1/caption?lambda=0.01")
      .set("Content-Type", "image/png")
      .send(SCENE);
    expect(plain.status).toBe(200);
    const streamed = await request(app)
      .post("/v1/caption?rule=beem&lambda=0.01")
      .set("Content-Type", "image/png")
      .set("Accept", "text/event-stream")
      .send(SCENE);
    expect(streamed.status).toBe(200);
    const done = JSON.parse(/event: done\ndata: (.*)/.exec(streamed.text)![1]!) as {
      endExitLayer: number | null;
    };
    const tokens = (streamed.text.match(/event: token/g) ?? []).length;
    expect((await request(app).post("/v1/caption?lambda=-1").send(SCENE)).status).toBe(415);
    expect(
      (
        await request(app)
          .post("/v1/caption?lambda=-1")
          .set("Content-Type", "image/png")
          .send(SCENE)
      ).status,
    ).toBe(422);
    expect(
      (
        await request(app)
          .post("/v1/classify")
          .send({ texts: ["fine", "awful"] })
      ).status,
    ).toBe(200);
    expect(
      (
        await request(app)
          .post("/v1/classify")
          .send({ texts: ["x"], lambda: "0.1" })
      ).status,
    ).toBe(422);
    expect((await request(app).get("/")).status).toBe(200);
    expect((await request(app).get("/app.js")).status).toBe(200);
    expect((await request(app).get("/favicon.ico")).status).toBe(200);
    expect((await request(app).get("/nowhere")).status).toBe(404);

    const text = (await request(app).get("/metrics")).text;
    const requests = (route: string, status: number) =>
      sample(text, "beem_http_requests_total", `route="${route}",status="${status}"`);
    expect(requests("/v1/caption", 200)).toBe(2);
    expect(requests("/v1/caption", 415)).toBe(1);
    expect(requests("/v1/caption", 422)).toBe(1);
    expect(requests("/v1/classify", 200)).toBe(1);
    expect(requests("/v1/classify", 422)).toBe(1);
    expect(requests("page", 200)).toBe(3);
    expect(requests("unmatched", 404)).toBe(1);
    // Every counted request has one of these labels: no "/caption", no "unmatched" page files.
    const labels = new Set(
      [...text.matchAll(/beem_http_requests_total\{route="([^"]+)"/g)].map((m) => m[1]),
    );
    expect([...labels].sort()).toEqual(["/v1/caption", "/v1/classify", "page", "unmatched"]);

    // The log names the same route for each of those requests, successes and errors alike.
    const logged = log.filter((e) => e.msg === "request");
    const byRoute = (route: string) => logged.filter((e) => e.route === route).length;
    expect(byRoute("/v1/caption")).toBe(4);
    expect(byRoute("/v1/classify")).toBe(2);
    expect(byRoute("page")).toBe(3);
    expect(byRoute("unmatched")).toBe(1);

    // Process metrics under one prefix.
    expect(text).toMatch(/^beem_process_cpu_user_seconds_total /m);
    expect(text).not.toMatch(/process_process/);

    // Exit layers: buckets 1..6 for these 6-exit models, every decided token (end included).
    const buckets = [
      ...text.matchAll(/^beem_exit_layer_bucket\{le="([^"]+)",model="caption-beem"\}/gm),
    ].map((m) => m[1]);
    expect(buckets).toEqual(["1", "2", "3", "4", "5", "6", "+Inf"]);
    const plainLayers = plain.body.tokens.length + (plain.body.endExitLayer === null ? 0 : 1);
    const streamedLayers = tokens + (done.endExitLayer === null ? 0 : 1);
    expect(sample(text, "beem_exit_layer_count", 'model="caption-beem"')).toBe(
      plainLayers + streamedLayers,
    );
    expect(sample(text, "beem_exit_layer_count", 'model="sst2-beem"')).toBe(2);
  });
});
