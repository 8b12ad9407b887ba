// @beem-ts/server: the HTTP API for captioning and classification with BEEM early exit.
export { createApp, type AppOptions, type BeemApp } from "./app.js";
export { loadConfig, type ServerConfig } from "./config.js";
export { DEFAULT_LIMITS, type Limits } from "./limits.js";
export {
  STATUS_BY_CODE,
  HttpError,
  type ErrorBody,
  type ErrorCode,
  type ServerErrorCode,
} from "./errors.js";
export { jsonLogger, silentLogger, type Logger } from "./logger.js";
export { openApiDocument } from "./openapi.js";
