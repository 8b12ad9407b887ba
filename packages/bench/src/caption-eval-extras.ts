// evaluateCaptions' optional parts: transformers.js on the same weights, batches against one
// image at a time, beam search against greedy decoding.
import { scoreCaptions, type CaptionOptions, type Captioner } from "@beem-ts/caption";
import { median } from "@beem-ts/core";
import type { CaptionSet } from "./caption-data.js";
import { candidates, timeWays } from "./caption-runs.js";
import { pairedSpeedup, timeSideBySide } from "./timing.js";
import { tjsThreadsLabel, transformersJsAgainst } from "./transformers-js.js";

interface Pass {
  readonly repeats: number;
  readonly tick: () => void;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** transformers.js' pipeline timed against early exit and fused full depth, with its CIDEr-D. */
export async function measureTransformersJs(
  captioner: Captioner,
  set: CaptionSet,
  o: Pass & {
    early: CaptionOptions;
    full: CaptionOptions;
    dir: string;
    threads?: number | undefined;
  },
) {
  const run = await transformersJsAgainst(
    captioner,
    o.dir,
    set.files,
    {
      early: (f: string) => captioner.caption(f, o.early),
      full: (f: string) => captioner.caption(f, o.full),
    },
    { repeats: o.repeats, onRepeat: o.tick, threads: o.threads },
  );
  return {
    transformersJsSpeedup: pairedSpeedup(run.oursMs.early, run.tjsMs),
    transformersJsOverFull: pairedSpeedup(run.oursMs.full, run.tjsMs),
    transformersJsMs: median(run.tjsMs),
    transformersJsCider: scoreCaptions({ refs: set.refs, cands: candidates(set, run.texts) })
      .ciderD,
    transformersJsThreads: tjsThreadsLabel(o.threads),
  };
}

/** Early exit on batches of `size` images against the same images one at a time. */
export async function measureBatching(
  captioner: Captioner,
  files: readonly string[],
  o: Pass & { early: CaptionOptions; size: number },
) {
  const { size, early } = o;
  const batched: string[] = [];
  const single: string[] = [];
  const ms = await timeSideBySide(
    chunks(files, size),
    {
      batched: async (group: string[], k: number) => {
        const results = await captioner.captionBatch(group, early);
        results.forEach((r, j) => (batched[k * size + j] = r.ok ? r.result.text : ""));
      },
      oneAtATime: async (group: string[], k: number) => {
        for (const [j, f] of group.entries())
          single[k * size + j] = (await captioner.caption(f, early)).text;
      },
    },
    { repeats: o.repeats, warmUp: true, onRepeat: o.tick },
  );
  return {
    size,
    ms: median(ms.batched),
    oneAtATimeMs: median(ms.oneAtATime),
    speedup: pairedSpeedup(ms.batched, ms.oneAtATime),
    sameCaptions: batched.every((t, i) => t === single[i]),
  };
}

/** Beam search of width `width`, early and at full depth: quality and time against greedy. */
export async function measureBeams(
  captioner: Captioner,
  set: CaptionSet,
  o: Pass & {
    early: CaptionOptions;
    width: number;
    greedy: { readonly full: number; readonly early: number };
  },
) {
  const k = o.width;
  const t = await timeWays(
    captioner,
    set.files,
    {
      early: o.early,
      full: { full: true },
      earlyBeams: { ...o.early, beams: k },
      fullBeams: { full: true, beams: k },
    },
    { repeats: o.repeats, onRepeat: o.tick },
  );
  const cider = (texts: readonly string[]) =>
    scoreCaptions({ refs: set.refs, cands: candidates(set, texts) }).ciderD;
  return {
    width: k,
    ciderFull: cider(t.fullBeams.results.map((r) => r.text)),
    cider: cider(t.earlyBeams.results.map((r) => r.text)),
    greedyCiderFull: o.greedy.full,
    greedyCider: o.greedy.early,
    /** Time of beam search over greedy decoding (median of per-pass ratios). */
    timeOverGreedyFull: pairedSpeedup(t.full.ms, t.fullBeams.ms),
    timeOverGreedy: pairedSpeedup(t.early.ms, t.earlyBeams.ms),
  };
}
