// An exit log (JSON Lines, one sample per line) and a policy document read from files, checked
// to be regular files first; errors name the file, line and field.
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import {
  BeemError,
  ExitTableBuilder,
  addParsedSample,
  parseExitLogLine,
  parsePolicy,
  type ExitTable,
  type Policy,
} from "@beem-ts/core";
import { cannotRead, checkRegularFile, stripBom } from "./input-files.js";

/** Reads a JSON Lines exit log; errors name the file, line and field. */
export async function readExitLog(path: string): Promise<ExitTable> {
  checkRegularFile(path);
  const builder = new ExitTableBuilder();
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number++;
      const where = `${path}:${number}`;
      const sample = parseExitLogLine(number === 1 ? stripBom(line) : line, where);
      if (sample !== undefined) addParsedSample(builder, sample, where);
    }
  } catch (cause) {
    if (cause instanceof BeemError) throw cause;
    throw cannotRead(path, cause);
  }
  if (builder.size === 0)
    throw new BeemError("INVALID_EXIT_LOG", `${path}: the exit log has no samples`);
  return builder.build();
}

/** Reads a policy document (JSON, as `beem calibrate` writes it). */
export async function readPolicy(path: string): Promise<Policy> {
  checkRegularFile(path);
  let text: string;
  try {
    text = stripBom(await readFile(path, "utf8"));
  } catch (cause) {
    throw cannotRead(path, cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new BeemError("INVALID_POLICY", `${path}: not valid JSON (${(cause as Error).message})`, {
      cause,
    });
  }
  return parsePolicy(value, { source: path });
}
