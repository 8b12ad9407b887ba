// Debian's redis-server on a free loopback port with a data folder of its own, for the queue
// benchmarks and tests; ready when this resolves.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  stop(): void;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface LocalRedisOptions {
  /** Default: a free one. */
  readonly port?: number;
  /** appendonly yes with fsync per write, so that a restart on the same folder keeps the data. */
  readonly durable?: boolean;
}

export function freePort(): Promise<number> {
  return new Promise((ok) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

export async function startRedis(
  dir: string,
  options: LocalRedisOptions = {},
): Promise<LocalRedis> {
  const port = options.port ?? (await freePort());
  const server = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      ...(options.durable
        ? ["--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction"]
        : ["--appendonly", "no"]),
    ],
    { stdio: "ignore" },
  );
  const ping = () =>
    spawnSync("redis-cli", ["-p", String(port), "ping"])
      .stdout?.toString()
      .trim() === "PONG";
  for (let i = 0; i < 100 && !ping(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!ping()) {
    server.kill("SIGKILL");
    throw new Error(`redis-server did not start on port ${port}`);
  }
  const gone = new Promise<void>((done) => server.on("exit", () => done()));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => server.kill("SIGTERM"),
    kill: () => {
      server.kill("SIGKILL");
      return gone;
    },
  };
}
