// `pnpm start`: serves the bundled models (see loadConfig for the settings). The only place
// that listens. SIGTERM/SIGINT: stop accepting connections, answer every request from then on
// (and those in flight) with `Connection: close` so that keep-alive sockets end after their
// answer, close idle sockets, let the requests already taken finish, free the models, exit 0.
import { createServer, type ServerResponse } from "node:http";
import { BeemError } from "@beem-ts/core";
import { createApp } from "./app.js";
import { loadConfig, type ServerConfig } from "./config.js";
import { jsonLogger } from "./logger.js";

let config: ServerConfig;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof BeemError)) throw error;
  process.stderr.write(`beem server: ${error.message}\n`);
  process.exit(2);
}
const app = createApp(config);
let stopping = false;
// Answers not yet sent, so that shutdown can mark those in flight `Connection: close` too.
const pending = new Set<ServerResponse>();
const server = createServer((req, res) => {
  if (stopping) res.setHeader("Connection", "close");
  pending.add(res);
  res.on("close", () => pending.delete(res));
  app(req, res);
});
server.listen(config.port, config.host, () => {
  jsonLogger({ level: "info", msg: "listening", url: `http://${config.host}:${config.port}` });
});
// A client gets a minute to send its request (headers within 10 s), then the socket is closed.
server.requestTimeout = 60_000;
server.headersTimeout = 10_000;
server.on("error", (error) => {
  jsonLogger({ level: "error", msg: "cannot listen", error: String(error) });
  process.exit(1);
});
app.ready().catch((error: unknown) => {
  jsonLogger({ level: "error", msg: "cannot load the models; exiting", error: String(error) });
  process.exit(1);
});

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  jsonLogger({ level: "info", msg: "shutting down", signal });
  const force = setTimeout(() => {
    jsonLogger({ level: "error", msg: "shutdown timed out; exiting" });
    process.exit(1);
  }, config.shutdownTimeoutSeconds * 1000);
  force.unref();
  for (const res of pending) if (!res.headersSent) res.setHeader("Connection", "close");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await app.close(); // new requests get 503; waits for queued work; frees the models
  // Sockets that answered since are closed by their Connection: close; any left idle now go.
  server.closeIdleConnections();
  await closed;
  jsonLogger({ level: "info", msg: "stopped" });
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
