// Stopping a collection run from outside: the first SIGINT or SIGTERM asks the run to stop after
// the group in hand (captionCollection's `shouldStop`), so that the results file stays whole.

/** A run's signal handlers, installed by stopOnSignals. */
export interface SignalStop {
  /** The signal that asked the run to stop, if one came. */
  readonly signal: NodeJS.Signals | undefined;
  /** captionCollection's `shouldStop`. */
  readonly shouldStop: () => boolean;
  /** Removes the handlers. */
  dispose(): void;
}

/**
 * Handles `signals` until disposed: the first one is recorded (`signal`, `shouldStop`), a second
 * one calls `onRepeat` (a command line exits at once; the results file stays resumable).
 */
export function stopOnSignals(
  signals: readonly NodeJS.Signals[],
  onRepeat: (signal: NodeJS.Signals) => void,
): SignalStop {
  let received: NodeJS.Signals | undefined;
  const handlers = signals.map((signal) => {
    const handler = () => {
      if (received !== undefined) onRepeat(signal);
      else received = signal;
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return {
    get signal() {
      return received;
    },
    shouldStop: () => received !== undefined,
    dispose: () => handlers.forEach((remove) => remove()),
  };
}
