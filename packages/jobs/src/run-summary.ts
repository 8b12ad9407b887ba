// What a collection run into a results file did, in the words a log or a command line prints.
import type { CollectionRun } from "./collection.js";

export interface ResultsRunContext {
  /** The results file. */
  readonly out: string;
  /** Images the run was given (those already in the file left out). */
  readonly total: number;
  /** Images left out because the file had them already. */
  readonly skipped?: number | undefined;
  /** The file's lines for images no longer there (ResultsFile.gone). */
  readonly gone?: readonly string[] | undefined;
  /** The signal that stopped the run, if one did (SignalStop.signal). */
  readonly signal?: string | undefined;
}

/** "N images captioned" and ", M failed" where some did. */
export function countCaptioned(run: CollectionRun): string {
  const failed = run.failed.length;
  return `${run.done - failed} images captioned` + (failed > 0 ? `, ${failed} failed` : "");
}

/**
 * A run's summary lines: for a stopped run, one line saying how far it got (that the file holds
 * every finished image); else how many were captioned into the file, and a line naming the
 * file's lines for images no longer there (the first five), if any.
 */
export function describeResultsRun(run: CollectionRun, context: ResultsRunContext): string[] {
  const { out, total, skipped = 0, gone = [], signal } = context;
  const counted = countCaptioned(run);
  if (signal !== undefined)
    return [
      `stopped by ${signal} after ${run.done} of ${total} images (${counted})` +
        (skipped > 0 ? ` (${skipped} were already there)` : "") +
        `; ${out} holds every finished one.`,
    ];
  const lines = [`${counted} into ${out}` + (skipped > 0 ? ` (${skipped} already there)` : "")];
  if (gone.length > 0)
    lines.push(
      `${out} has ${gone.length} lines for images no longer there (kept): ` +
        gone.slice(0, 5).join(", ") +
        (gone.length > 5 ? ", ..." : ""),
    );
  return lines;
}
