// The errors the jobs package throws: a BeemError (so that callers that branch on `code` for
// the other packages branch on these the same way) whose code is one of JOBS_ERROR_CODES.
import { BeemError } from "@beem-ts/core";

/** Every code a JobsError carries, with what it means; a caller can rely on the list. */
export const JOBS_ERROR_CODES = {
  INVALID_ARGUMENT: "an option is out of its documented range (a queue name, a Redis URL)",
  INVALID_INPUT: "an input is malformed: an unreadable results line, a path outside the root",
  FILE_NOT_FOUND: "an input file (an image list, a results file) cannot be read",
  NOT_A_FILE: "a folder, FIFO or device where a regular file is expected",
  SYMLINK_LOOP: "a symbolic link loop where a file is expected",
  OUTPUT_LOCKED: "a results file is being written by another run (its FILE.lock)",
  RESULTS_EXIST: "a results file holds results and was not opened to resume",
  REDIS_UNAVAILABLE: "Redis stayed unreachable longer than a worker was told to wait",
  WRITE_FAILED: "an output file cannot be written, or Redis refused a write",
} as const satisfies Record<string, string>;

export type JobsErrorCode = keyof typeof JOBS_ERROR_CODES;

/** An error of the jobs package, with a stable `code` (one of `JOBS_ERROR_CODES`). */
export class JobsError<C extends JobsErrorCode = JobsErrorCode> extends BeemError<C> {
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "JobsError";
  }
}
