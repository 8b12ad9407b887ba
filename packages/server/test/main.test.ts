// `pnpm start` as a process: serves on the configured port, refuses a bad setting, and on
// SIGTERM finishes what it is doing and exits 0.
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CAPTION_MODEL,
  SCENE,
  freePort,
  modelsPresent,
  startServer as start,
  waitReady,
} from "./fixtures.js";

interface Answer {
  readonly status: number;
  readonly connection: string | undefined;
  readonly afterSignal: boolean;
}

/** GET /v1/models over one keep-alive agent until the server stops listening. */
async function keepSending(port: number, agent: Agent, signalled: () => boolean) {
  const answers: Answer[] = [];
  const errors: string[] = [];
  for (;;) {
    const afterSignal = signalled();
    const result = await new Promise<Answer | string>((done) => {
      const req = request({ port, host: "127.0.0.1", path: "/v1/models", agent }, (res) => {
        res.resume();
        res.on("end", () =>
          done({ status: res.statusCode ?? 0, connection: res.headers.connection, afterSignal }),
        );
      });
      req.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      req.end();
    });
    if (typeof result !== "string") answers.push(result);
    else {
      errors.push(result);
      // Nothing listens any more: the server is gone.
      if (result === "ECONNREFUSED") return { answers, errors };
      // Any other error only once the server is stopping (a socket closed as it went idle).
      expect(afterSignal || signalled(), result).toBe(true);
    }
  }
}

describe.runIf(modelsPresent)("the server entry point", () => {
  it("serves, then shuts down gracefully on SIGTERM with the request in flight answered", async () => {
    const port = await freePort();
    const server = start({ PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (
        await fetch(`${base}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      expect(i, server.output()).toBeLessThan(300);
      await new Promise((r) => setTimeout(r, 100));
    }
    const inFlight = fetch(`${base}/v1/caption?beams=4`, {
      method: "POST",
      headers: { "Content-Type": "image/png" },
      body: SCENE,
    });
    await new Promise((r) => setTimeout(r, 20));
    server.child.kill("SIGTERM");
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { caption: string }).caption).toMatch(/kite/);
    expect(await server.exited).toBe(0);
    const lines = server
      .output()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["listening", "models loaded", "shutting down", "stopped"]),
    );
  }, 60_000);

  it("under keep-alive load, SIGTERM: in-flight answered, then Connection: close, exit 0 within the timeout, 503s logged once", async () => {
    const port = await freePort();
    const server = start({ PORT: String(port), BEEM_SHUTDOWN_TIMEOUT_SECONDS: "10" });
    await waitReady(`http://127.0.0.1:${port}`, server.output);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const signal: { at?: number } = {};
    const signalled = () => signal.at !== undefined;
    const clients = Array.from({ length: 4 }, () => keepSending(port, agent, signalled));
    await new Promise((r) => setTimeout(r, 300));
    const inFlight = fetch(`http://127.0.0.1:${port}/v1/caption?beams=4`, {
      method: "POST",
      headers: { "Content-Type": "image/png" },
      body: SCENE,
    });
    await new Promise((r) => setTimeout(r, 20));
    signal.at = performance.now();
    server.child.kill("SIGTERM");
    const code = await server.exited;
    const stoppedAfterMs = performance.now() - signal.at;
    const results = await Promise.all(clients);
    agent.destroy();
    expect(code, server.output()).toBe(0);
    expect(stoppedAfterMs).toBeLessThan(10_000);
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.headers.get("connection")).toBe("close");
    const answers = results.flatMap((r) => r.answers);
    // The clients kept sending through the shutdown and every answer is 200 or 503.
    expect(answers.some((a) => !a.afterSignal && a.status === 200)).toBe(true);
    for (const a of answers) expect([200, 503]).toContain(a.status);
    // After the signal every answer tells the client to drop the connection.
    for (const a of answers.filter((x) => x.status === 503)) expect(a.connection).toBe("close");
    const lines = server
      .output()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; level: string; status?: number });
    // From the signal on (503s of /readyz while loading are not about the shutdown).
    const from = lines.findIndex((l) => l.msg === "shutting down");
    expect(from).toBeGreaterThanOrEqual(0);
    const about = lines.slice(from).filter((l) => l.msg !== "request" || l.status === 503);
    expect(about.length, server.output()).toBeLessThan(10);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  }, 90_000);

  it("pnpm start passes SIGTERM on: the server stops with it", async () => {
    const port = await freePort();
    const root = resolve(import.meta.dirname, "../../..");
    const pnpm = spawn("pnpm", ["start"], {
      cwd: root,
      env: { ...process.env, PORT: String(port), BEEM_CAPTION_MODEL: CAPTION_MODEL },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    pnpm.stdout.on("data", (c: Buffer) => (out += c.toString()));
    pnpm.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((done) => pnpm.on("exit", done));
    await waitReady(`http://127.0.0.1:${port}`, () => out);
    pnpm.kill("SIGTERM");
    await exited;
    // Whatever pnpm's own exit, nothing serves on the port any more.
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      gone = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        () => false,
        () => true,
      );
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    expect(gone, out).toBe(true);
    expect(out).toMatch(/"msg":"stopped"/);
  }, 90_000);

  it("refuses a bad setting at start, naming it", async () => {
    const server = start({ PORT: "http" });
    expect(await server.exited).toBe(2);
    expect(server.output()).toMatch(/Expected PORT to be an integer >= 0 but received "http"/);
  });
});
