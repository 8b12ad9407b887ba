export { runCli, COMMANDS } from "./run-cli.js";
export type { Command, CommandIo } from "./command.js";
export { UsageError } from "./cli-error.js";
