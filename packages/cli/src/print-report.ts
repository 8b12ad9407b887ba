// A measurement's report on standard output: one line of JSON (--json) or text for people.
import type { CommandIo } from "./command.js";

export function printReport(
  io: CommandIo,
  report: object,
  options: { json: boolean; text: () => string },
): void {
  io.stdout(options.json ? JSON.stringify(report) + "\n" : options.text());
}
