/** A Server-Timing header value from named durations in milliseconds. */
export function serverTiming(durations: Record<string, number>): string {
  return Object.entries(durations)
    .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
    .join(", ");
}
