// More than a thousand bad requests of every kind: each gets a 4xx with the error body, the
// app keeps serving, and a good request still succeeds afterwards.
import request from "supertest";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "@beem-ts/core";
import { createApp, silentLogger, type BeemApp } from "../src/index.js";
import { CAPTION_MODEL, SCENE, TEXT_MODEL, hugePngHeader, modelsPresent } from "./fixtures.js";

type Send = (app: BeemApp) => request.Test;

describe.runIf(modelsPresent)("the server under a flood of bad requests", () => {
  let app: BeemApp;
  const bad: { kind: string; send: Send }[] = [];
  beforeAll(async () => {
    app = createApp({
      captionModel: CAPTION_MODEL,
      textModel: TEXT_MODEL,
      logger: silentLogger,
      limits: { maxBodyBytes: 256 * 1024 },
    });
    const rand = seededRandom(7);
    const bytes = (n: number) =>
      Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
    const jpeg = await sharp(SCENE).jpeg().toBuffer();
    const raw =
      (body: Buffer, type = "image/png", query = ""): Send =>
      (a) =>
        request(a).post(`/v1/caption${query}`).set("Content-Type", type).send(body);

    for (let i = 0; i < 200; i++)
      bad.push({ kind: "random bytes", send: raw(bytes(Math.floor(rand() * 4096))) });
    for (let i = 0; i < 150; i++) {
      const source = i % 2 === 0 ? SCENE : jpeg;
      const cut = source.subarray(0, Math.floor(rand() * source.length * 0.5));
      bad.push({
        kind: "truncated image",
        send: raw(cut, i % 2 === 0 ? "image/png" : "image/jpeg"),
      });
    }
    for (let i = 0; i < 100; i++) {
      const corrupt = Buffer.from(i % 2 === 0 ? SCENE : jpeg);
      for (let k = 0; k < 12; k++) corrupt[Math.floor(rand() * 24)] = Math.floor(rand() * 256);
      bad.push({ kind: "corrupt header", send: raw(corrupt) });
    }
    bad.push({ kind: "empty body", send: raw(Buffer.alloc(0)) });
    for (let i = 0; i < 20; i++)
      bad.push({ kind: "20000 x 20000 PNG", send: raw(hugePngHeader(20_000, 20_000)) });
    bad.push({ kind: "body over the limit", send: raw(Buffer.alloc(300 * 1024)) });
    for (const type of [
      "text/plain",
      "application/json",
      "application/octet-stream",
      "",
      "video/mp4",
    ])
      for (let i = 0; i < 20; i++)
        bad.push({ kind: `caption as ${type || "no type"}`, send: raw(SCENE, type) });
    for (let i = 0; i < 20; i++)
      bad.push({
        kind: "image to classify",
        send: (a) => request(a).post("/v1/classify").set("Content-Type", "image/png").send(SCENE),
      });
    const multipart = [
      'multipart/form-data; boundary=XYZ|--XYZ\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc',
      "multipart/form-data|--XYZ--\r\n",
      "multipart/form-data; boundary=XYZ|garbage without boundaries",
      'multipart/form-data; boundary=XYZ|--XYZ\r\nContent-Disposition: form-data; name="lambda"\r\n\r\n0.1\r\n--XYZ--\r\n',
      'multipart/form-data; boundary=XYZ|--XYZ\r\nContent-Disposition: form-data; name="photo"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nabc\r\n--XYZ--\r\n',
      'multipart/form-data; boundary=XYZ|--XYZ\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nnot a png\r\n--XYZ--\r\n',
    ];
    for (let i = 0; i < 120; i++) {
      const [type, body] = multipart[i % multipart.length]!.split("|") as [string, string];
      bad.push({ kind: "broken multipart", send: raw(Buffer.from(body, "latin1"), type) });
    }
    const classify =
      (body: string, type = "application/json"): Send =>
      (a) =>
        request(a).post("/v1/classify").set("Content-Type", type).send(body);
    const jsons = [
      "{",
      "not json",
      "[1, 2",
      '{"texts": "one"}',
      '{"texts": []}',
      '{"texts": [1, 2]}',
      "null",
      "42",
      '"texts"',
      '{"text": ["a"]}',
      `{"texts": ${JSON.stringify(Array(65).fill("a"))}}`,
      `{"texts": ["${"a".repeat(10_001)}"]}`,
      '{"texts": ["a"], "lambda": -1}',
      '{"texts": ["a"], "lambda": "x"}',
      '{"texts": ["a"], "lambda": 1e999}',
      '{"texts": ["a"], "rule": "magic"}',
      '{"texts": ["a"], "full": "maybe"}',
      '{"texts": ["a"], "batch": 3}',
      '{"texts": ["a"], "lambda": [1]}',
    ];
    for (let i = 0; i < 190; i++)
      bad.push({ kind: "bad classify JSON", send: classify(jsons[i % jsons.length]!) });
    for (let i = 0; i < 60; i++)
      bad.push({
        kind: "random JSON bytes",
        send: classify(bytes(1 + Math.floor(rand() * 200)).toString("latin1")),
      });
    const queries = [
      "?lambda=-1",
      "?lambda=abc",
      "?lambda=",
      "?lambda=Infinity",
      "?lambda=1e400",
      "?lambda=NaN",
      "?beams=0",
      "?beams=100000",
      "?beams=1.5",
      "?maxTokens=-5",
      "?maxTokens=1e9",
      "?rule=",
      "?rule=%00",
      "?full=maybe",
      "?unknown=1",
      "?lambda=1&lambda=2",
      "?rule[]=x",
    ];
    for (let i = 0; i < 170; i++)
      bad.push({ kind: "bad option", send: raw(SCENE, "image/png", queries[i % queries.length]!) });
    for (let i = 0; i < 20; i++)
      bad.push({ kind: "unknown route", send: (a) => request(a).get(`/v1/nothing/${i}`) });
    for (let i = 0; i < 10; i++)
      bad.push({ kind: "wrong method", send: (a) => request(a).put("/v1/caption").send("x") });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it("answers every bad request with a 4xx and the error body, and then still captions", async () => {
    expect(bad.length).toBeGreaterThanOrEqual(1000);
    const failures: string[] = [];
    const kinds = new Map<string, Set<number>>();
    for (let i = 0; i < bad.length; i += 8) {
      const answers = await Promise.all(bad.slice(i, i + 8).map((b) => b.send(app)));
      answers.forEach((r, k) => {
        const { kind } = bad[i + k]!;
        const body = r.body as { error?: { code?: unknown; message?: unknown } };
        if (
          r.status < 400 ||
          r.status >= 500 ||
          typeof body.error?.code !== "string" ||
          typeof body.error.message !== "string"
        )
          failures.push(`${kind}: ${r.status} ${r.text.slice(0, 120)}`);
        kinds.set(kind, (kinds.get(kind) ?? new Set()).add(r.status));
      });
    }
    expect(failures).toEqual([]);
    expect(kinds.get("20000 x 20000 PNG")).toEqual(new Set([413]));
    expect(kinds.get("body over the limit")).toEqual(new Set([413]));
    expect(kinds.get("random bytes")).toEqual(new Set([415]));
    expect(kinds.get("bad option")).toEqual(new Set([422]));
    const good = await request(app)
      .post("/v1/caption")
      .set("Content-Type", "image/png")
      .send(SCENE);
    expect(good.status).toBe(200);
    expect(good.body.caption).toMatch(/kite/);
    const text = await request(app)
      .post("/v1/classify")
      .send({ texts: ["a fine film"] });
    expect(text.status).toBe(200);
  }, 120_000);
});
