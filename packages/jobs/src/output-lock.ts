// A lock on an output file, so that two runs never append to it at once: FILE.lock, created
// only if absent, holding the owner's pid, host and start time. A lock whose process is gone
// (same host, pid not running) is taken over; one of a live process, or of another host, refuses.
import { hostname } from "node:os";
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { JobsError } from "./errors.js";
import { cannotWrite } from "./output-files.js";

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export interface OutputLock {
  /** The lock file's path. */
  readonly path: string;
  /** The holder whose stale lock was taken over, if there was one. */
  readonly tookOver?: Holder;
  release(): void;
}

function readHolder(path: string): Holder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as Partial<Holder>;
    if (typeof value.pid === "number" && typeof value.host === "string")
      return { pid: value.pid, host: value.host, since: String(value.since) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  }
  // Unreadable: being written this instant, or garbage; old garbage counts as a dead holder.
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return undefined;
  return { pid: Date.now() - stat.mtimeMs > 10_000 ? 0 : -1, host: hostname(), since: "unknown" };
}

function running(holder: Holder): boolean {
  if (holder.host !== hostname() || holder.pid === -1) return true; // cannot tell: assume so
  if (holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function locked(
  file: string,
  lock: string,
  holder: Holder | undefined,
): JobsError<"OUTPUT_LOCKED"> {
  const who =
    holder === undefined || holder.pid < 0
      ? "another run"
      : `another run (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
  return new JobsError(
    "OUTPUT_LOCKED",
    `${file} is being written by ${who}: its lock is ${lock}. Wait for that run to end, or ` +
      `remove ${lock} if no such run exists`,
  );
}

/** Takes the lock on `file` (FILE.lock) or throws OUTPUT_LOCKED naming it and its holder. */
export function lockOutput(file: string): OutputLock {
  const path = `${file}.lock`;
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  let tookOver: Holder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(me) + "\n", { flag: "wx" });
      const release = () => {
        process.off("exit", release);
        if (readHolder(path)?.pid === me.pid) unlinkSync(path);
      };
      process.on("exit", release); // also when a second Ctrl-C ends the process at once
      return { path, ...(tookOver && { tookOver }), release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw cannotWrite(file, error);
    }
    const holder = readHolder(path);
    if (holder === undefined) continue; // released meanwhile
    if (running(holder)) throw locked(file, path, holder);
    // Stale: moved aside, which only one of several runs doing this at once can do. If what was
    // moved is not the lock judged stale (a live run took it over first), it is put back.
    const aside = `${path}.${process.pid}.stale`;
    try {
      renameSync(path, aside);
    } catch {
      continue; // another run moved it first
    }
    const moved = readHolder(aside);
    if (moved?.pid !== holder.pid) {
      try {
        linkSync(aside, path);
      } finally {
        unlinkSync(aside);
      }
      throw locked(file, path, moved);
    }
    unlinkSync(aside);
    tookOver = holder;
  }
  throw locked(file, path, readHolder(path));
}
