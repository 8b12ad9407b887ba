// The jobs a worker holds, captioned together: those that arrive within a few ms share a batch.
import type { Captioner, CaptionOptions, CaptionResult } from "@beem-ts/caption";

/** A function captioning one image that batches the calls made within 5 ms (up to `max`). */
export function batching(captioner: Captioner, options: CaptionOptions, max: number) {
  type Pending = {
    path: string;
    resolve: (r: CaptionResult) => void;
    reject: (e: unknown) => void;
  };
  let pending: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = async () => {
    timer = undefined;
    const batch = pending;
    pending = [];
    try {
      const results = await captioner.captionBatch(
        batch.map((p) => p.path),
        options,
      );
      results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r.result) : batch[i]!.reject(r.error)));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  };
  return (path: string) =>
    new Promise<CaptionResult>((resolve, reject) => {
      pending.push({ path, resolve, reject });
      if (pending.length >= max) {
        clearTimeout(timer);
        void flush();
      } else timer ??= setTimeout(() => void flush(), 5);
    });
}
