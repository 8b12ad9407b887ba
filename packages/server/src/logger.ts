// Structured logs: one JSON object per line.
export type Logger = (entry: Record<string, unknown>) => void;

/** Writes JSON lines to standard output, with the time. */
export const jsonLogger: Logger = (entry) => {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...entry }) + "\n");
};

export const silentLogger: Logger = () => {};
