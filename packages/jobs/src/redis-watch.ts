// A long-running command's view of its Redis connection: one log line per change (lost, back),
// an optional limit on how long it may stay lost, and a heartbeat file that a supervisor can
// watch (its modification time advances while the connection is up).
import { writeFile } from "node:fs/promises";
import type { Redis } from "ioredis";
import { JobsError } from "./errors.js";

export interface RedisWatchOptions {
  /** Where state changes are reported (one line each). */
  readonly log: (line: string) => void;
  /** Fail (`lost` rejects) when the connection stays lost this long. Default: never. */
  readonly maxDisconnectSeconds?: number;
  /** Rewritten every `heartbeatMs` while connected: `{ "time", "pid" }`. Default: none. */
  readonly heartbeat?: string;
  /** Default 2000. */
  readonly heartbeatMs?: number;
}

export interface RedisWatch {
  /** Rejects with REDIS_UNAVAILABLE once the connection has been lost for too long. */
  readonly lost: Promise<never>;
  stop(): void;
}

export function watchRedis(redis: Redis, options: RedisWatchOptions): RedisWatch {
  let connected = redis.status === "ready";
  let lostAt = 0;
  let giveUp: NodeJS.Timeout | undefined;
  let fail: (error: JobsError<"REDIS_UNAVAILABLE">) => void = () => undefined;
  const lost = new Promise<never>((_, reject) => (fail = reject));
  lost.catch(() => undefined); // the caller races it
  const max = options.maxDisconnectSeconds;
  const onClose = () => {
    if (!connected) return;
    connected = false;
    lostAt = Date.now();
    options.log(
      `lost the connection to Redis; reconnecting` +
        (max === undefined ? " until it is back" : `, exiting if not back within ${max} s`),
    );
    if (max !== undefined)
      giveUp = setTimeout(
        () =>
          fail(
            new JobsError(
              "REDIS_UNAVAILABLE",
              `Redis unreachable for ${max} s (--max-disconnect-seconds); exiting so that a supervisor can restart the worker`,
            ),
          ),
        max * 1000,
      );
  };
  const onReady = () => {
    if (connected) return;
    connected = true;
    clearTimeout(giveUp);
    options.log(`connected to Redis again after ${((Date.now() - lostAt) / 1000).toFixed(1)} s`);
  };
  redis.on("close", onClose);
  redis.on("end", onClose);
  redis.on("ready", onReady);
  const beat = async () => {
    if (connected && options.heartbeat !== undefined)
      await writeFile(
        options.heartbeat,
        JSON.stringify({ time: new Date().toISOString(), pid: process.pid }) + "\n",
      ).catch((error: unknown) => options.log(`cannot write the heartbeat: ${String(error)}`));
  };
  void beat();
  const heartbeat =
    options.heartbeat === undefined
      ? undefined
      : setInterval(() => void beat(), options.heartbeatMs ?? 2000);
  return {
    lost,
    stop() {
      clearTimeout(giveUp);
      clearInterval(heartbeat);
      redis.off("close", onClose);
      redis.off("end", onClose);
      redis.off("ready", onReady);
    },
  };
}
