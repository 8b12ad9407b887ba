// Progress on standard error: a bar redrawn in place on a terminal; otherwise (a log file, a
// pipe, a supervisor) with `lines`, one line every few seconds.

export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

export interface ProgressOptions {
  /** Draw the bar. Default: when standard error is a terminal. */
  readonly enabled?: boolean;
  /**
   * When standard error is not a terminal: a line every `BEEM_PROGRESS_SECONDS` seconds
   * (default 5) instead of the bar. Default false.
   */
  readonly lines?: boolean;
}

export function createProgress(label: string, options: ProgressOptions = {}): Progress {
  const stream = process.stderr;
  const tty = stream.isTTY === true;
  const enabled = options.enabled ?? tty;
  const lines = enabled && !tty && options.lines === true;
  const every = Number(process.env.BEEM_PROGRESS_SECONDS ?? 5) * 1000;
  const started = Date.now();
  let last = started;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      // A line: every few seconds, none at the end (the summary line says the rest).
      if (!enabled || (lines && (now - last < every || done >= total))) return;
      const elapsed = (now - started) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      const left = rate > 0 && done < total ? Math.ceil((total - done) / rate) : undefined;
      if (lines) {
        last = now;
        const percent = Math.floor((100 * done) / Math.max(total, 1));
        const eta = left === undefined ? "" : `, about ${left} s left`;
        stream.write(
          `${label}: ${done} of ${total} images (${percent}%), ${rate.toFixed(1)}/s${eta}\n`,
        );
        return;
      }
      const width = 30;
      const filled = Math.round((total === 0 ? 1 : done / total) * width);
      const eta = left === undefined ? "" : ` ETA ${left}s`;
      stream.write(
        `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${elapsed.toFixed(1)}s ${rate.toFixed(1)}/s${eta}  `,
      );
      drawn = true;
    },
    finish() {
      if (drawn) stream.write("\n");
    },
  };
}
