// File input and output for the commands: logs read line by line, outputs written atomically.
import { createReadStream } from "node:fs";
import { access, readFile, rename, rm, writeFile } from "node:fs/promises";
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

async function checkReadable(path: string): Promise<void> {
  try {
    await access(path);
  } catch (cause) {
    throw new BeemError(
      "FILE_NOT_FOUND",
      `${path}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? "error"})`,
      { cause },
    );
  }
}

/** Reads a JSON Lines exit log; errors name the file, line and field. */
export async function readExitLog(path: string): Promise<ExitTable> {
  await checkReadable(path);
  const builder = new ExitTableBuilder();
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    const where = `${path}:${number}`;
    const sample = parseExitLogLine(line, where);
    if (sample !== undefined) addParsedSample(builder, sample, where);
  }
  if (builder.size === 0)
    throw new BeemError("INVALID_EXIT_LOG", `${path}: the exit log has no samples`);
  return builder.build();
}

export async function readPolicy(path: string): Promise<Policy> {
  await checkReadable(path);
  const text = await readFile(path, "utf8");
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

/** Writes the whole file or nothing: a temporary file renamed into place. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, content);
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true });
    throw new BeemError(
      "WRITE_FAILED",
      `${path}: cannot write the file (${(cause as Error).message})`,
      { cause },
    );
  }
}
