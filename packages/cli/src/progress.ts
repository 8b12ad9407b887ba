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
  const started = Date.now();
  let drawn = false;
  if (enabled && !tty && options.lines === true) {
    const every = Number(process.env.BEEM_PROGRESS_SECONDS ?? 5) * 1000;
    let last = started;
    return {
      update(done, total) {
        const now = Date.now();
        if (now - last < every && done < total) return;
        if (done >= total) return; // the summary line says the rest
        last = now;
        const elapsed = (now - started) / 1000;
        const rate = elapsed > 0 ? done / elapsed : 0;
        const eta = rate > 0 ? `, about ${Math.ceil((total - done) / rate)} s left` : "";
        stream.write(
          `${label}: ${done} of ${total} images (${Math.floor((100 * done) / Math.max(total, 1))}%), ${rate.toFixed(1)}/s${eta}\n`,
        );
      },
      finish() {},
    };
  }
  return {
    update(done, total) {
      if (!enabled) return;
      const width = 30;
      const fraction = total === 0 ? 1 : done / total;
      const filled = Math.round(fraction * width);
      const elapsed = (Date.now() - started) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      const eta = rate > 0 && done < total ? ` ETA ${Math.ceil((total - done) / rate)}s` : "";
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
