// `pnpm start` as a process: serves on the configured port, refuses a bad setting, and on
// SIGTERM finishes what it is doing and exits 0.
import { describe, expect, it } from "vitest";
import { SCENE, freePort, modelsPresent, startServer as start } from "./fixtures.js";

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

  it("refuses a bad setting at start, naming it", async () => {
    const server = start({ PORT: "http" });
    expect(await server.exited).toBe(2);
    expect(server.output()).toMatch(/Expected PORT to be an integer >= 0 but received "http"/);
  });
});
