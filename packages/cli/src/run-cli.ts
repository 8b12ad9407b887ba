// Dispatches `beem <command> ...` and turns errors into messages and exit statuses.
import { BeemError } from "@beem-ts/core";
import { UsageError } from "./cli-error.js";
import type { Command, CommandIo } from "./command.js";
import { calibrateCommand } from "./commands/calibrate.js";
import { evaluateCommand } from "./commands/evaluate.js";
import { sweepCommand } from "./commands/sweep.js";
import { synthCommand } from "./commands/synth.js";
import { classifyCommand } from "./commands/classify.js";
import { classifyEvalCommand } from "./commands/classify-eval.js";
import { classifyLogCommand } from "./commands/classify-log.js";
import { scenesCommand } from "./commands/scenes.js";
import { scoreCommand } from "./commands/score.js";
import { captionCommand } from "./commands/caption.js";
import { captionEvalCommand } from "./commands/caption-eval.js";
import { captionSweepCommand } from "./commands/caption-sweep.js";
import { benchScaleCommand } from "./commands/bench-scale.js";
import { jobsCommand } from "./commands/jobs.js";

export const COMMANDS: readonly Command[] = [
  calibrateCommand,
  evaluateCommand,
  sweepCommand,
  synthCommand,
  classifyCommand,
  classifyEvalCommand,
  classifyLogCommand,
  scenesCommand,
  scoreCommand,
  captionCommand,
  captionEvalCommand,
  captionSweepCommand,
  benchScaleCommand,
  jobsCommand,
];

function help(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return (
    "Usage: beem <command> [options]   (beem <command> --help for its options)\n\nCommands:\n" +
    commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n") +
    "\n"
  );
}

/** Runs the command line; returns the exit status (0 ok, 1 bad data or failure, 2 bad usage). */
export async function runCli(
  argv: readonly string[],
  io: CommandIo,
  commands: readonly Command[] = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(help(commands));
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`beem: unknown command ${JSON.stringify(name)}\n\n${help(commands)}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(command.usage + "\n");
    return 0;
  }
  try {
    await command.run(rest, io);
    return 0;
  } catch (error) {
    // A missing prerequisite's message says what to install; it reads without the code.
    const missing = error instanceof BeemError && error.code === "PREREQUISITE_MISSING";
    if (error instanceof UsageError || missing) {
      io.stderr(`beem ${name}: ${error.message}\n`);
      return missing ? 1 : 2;
    }
    if (error instanceof BeemError) {
      io.stderr(`beem ${name}: error [${error.code}]: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
