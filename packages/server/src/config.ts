// Server settings from environment variables, optionally a JSON config file (BEEM_CONFIG), and
// defaults, checked at start with messages that name the setting.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BeemError } from "@beem-ts/core";
import type { AppOptions } from "./app.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";

export interface ServerConfig extends AppOptions {
  readonly host: string;
  readonly port: number;
  /** Seconds to wait for in-flight requests on SIGTERM before exiting anyway. */
  readonly shutdownTimeoutSeconds: number;
}

const REPO_ROOT = resolve(import.meta.dirname, "../../..");

/** Environment variable of each limit, e.g. maxBodyBytes -> BEEM_MAX_BODY_BYTES. */
function envName(key: string): string {
  return "BEEM_" + key.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase();
}

function positiveInteger(name: string, value: unknown): number {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
    throw new BeemError(
      "INVALID_CONFIG",
      `Expected ${name} to be an integer >= 0 but received ${JSON.stringify(value)}`,
    );
  return n;
}

/**
 * Settings: HOST (127.0.0.1), PORT (8080), BEEM_CAPTION_MODEL and BEEM_TEXT_MODEL (the bundled
 * models; "none" to serve without one), BEEM_API_KEY, BEEM_THREADS (1), every limit as
 * BEEM_<NAME> (BEEM_MAX_BODY_BYTES, BEEM_MAX_QUEUE, ...), BEEM_SHUTDOWN_TIMEOUT_SECONDS (30).
 * BEEM_CONFIG names a JSON file with the same settings in camelCase (`host`, `port`,
 * `captionModel`, `limits: {...}`, ...); environment variables override it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  let file: Record<string, unknown> = {};
  if (env.BEEM_CONFIG !== undefined) {
    try {
      file = JSON.parse(readFileSync(env.BEEM_CONFIG, "utf8")) as Record<string, unknown>;
    } catch (cause) {
      throw new BeemError(
        "INVALID_CONFIG",
        `${env.BEEM_CONFIG}: cannot read the config file (${(cause as Error).message})`,
        { cause },
      );
    }
  }
  const pick = (envKey: string, fileKey: string): unknown => env[envKey] ?? file[fileKey];
  const fileLimits = (file.limits ?? {}) as Record<string, unknown>;
  const limits: Partial<Record<keyof Limits, number>> = {};
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = env[envName(key)] ?? fileLimits[key];
    if (value !== undefined) limits[key] = positiveInteger(envName(key), value);
  }
  const model = (envKey: string, fileKey: string, bundled: string): string | null => {
    const value = pick(envKey, fileKey);
    if (value === "none" || value === null) return null;
    return typeof value === "string" ? resolve(value) : resolve(REPO_ROOT, bundled);
  };
  const apiKey = pick("BEEM_API_KEY", "apiKey");
  const port = positiveInteger("PORT", pick("PORT", "port") ?? 8080);
  if (port > 65535)
    throw new BeemError("INVALID_CONFIG", `Expected PORT to be at most 65535 but received ${port}`);
  return {
    host: String(pick("HOST", "host") ?? "127.0.0.1"),
    port,
    captionModel: model("BEEM_CAPTION_MODEL", "captionModel", "models/photo-caption"),
    textModel: model("BEEM_TEXT_MODEL", "textModel", "models/sst2-beem"),
    limits,
    ...(typeof apiKey === "string" && apiKey !== "" && { apiKey }),
    threads: positiveInteger("BEEM_THREADS", pick("BEEM_THREADS", "threads") ?? 1),
    shutdownTimeoutSeconds: positiveInteger(
      "BEEM_SHUTDOWN_TIMEOUT_SECONDS",
      pick("BEEM_SHUTDOWN_TIMEOUT_SECONDS", "shutdownTimeoutSeconds") ?? 30,
    ),
  };
}
