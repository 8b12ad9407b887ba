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
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      stream.write(
        `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${seconds}s`,
      );
      drawn = true;
    },
    finish() {
      if (drawn) stream.write("\n");
    },
  };
}
