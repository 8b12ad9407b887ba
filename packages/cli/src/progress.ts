// A progress bar on standard error, drawn only when it is a terminal.

export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

export function createProgress(label: string, options: { enabled?: boolean } = {}): Progress {
  const stream = process.stderr;
  const enabled = options.enabled ?? stream.isTTY === true;
  const started = Date.now();
  let drawn = false;
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
