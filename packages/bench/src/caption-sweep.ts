// Caption quality against measured speed-up for each rule and lambda, with the reference points
// (fused full depth, full depth layer by layer, transformers.js), as table rows.
import { scoreCaptions, type CaptionOptions, type Captioner } from "@beem-ts/caption";
import { median, type CalibrationRule } from "@beem-ts/core";
import type { CaptionSet } from "./caption-data.js";
import { candidates, timeWays, tokenStats } from "./caption-runs.js";
import type { Row } from "./tables.js";
import { pairedSpeedup } from "./timing.js";
import { TJS_DEFAULT_THREADS, transformersJsAgainst } from "./transformers-js.js";

export const SWEEP_RULES = ["beem-a", "beem-c", "maxprob", "entropy", "patience"] as const;
export const SWEEP_LAMBDAS: readonly number[] = [0, 0.01, 0.05, 0.2, 0.5];

/** The columns of a sweep's rows (and of its CSV and Markdown). */
export const SWEEP_COLUMNS = [
  "rule",
  "lambda",
  "ciderD",
  "bleu4",
  "rougeL",
  "meanExitLayer",
  "countedSpeedup",
  "measuredSpeedup",
  "tokenAgreement",
  "ms",
] as const;
export type SweepRow = Row<(typeof SWEEP_COLUMNS)[number]>;

export interface CaptionSweepOptions {
  /** Rules to sweep, each fitted on the bundle's calibration log. Default SWEEP_RULES. */
  readonly rules?: readonly CalibrationRule[];
  /** Cost parameters (>= 0). Default SWEEP_LAMBDAS. */
  readonly lambdas?: readonly number[];
  /** Timed passes per point. Default 2. */
  readonly repeats?: number;
  /** transformers.js' export of the same weights, for its reference point. Default: none. */
  readonly transformersJsDir?: string | undefined;
  /** Called after every timed pass with the passes done and to do. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface CaptionSweep {
  /** One row per rule and lambda, in that order. */
  readonly rows: SweepRow[];
  /** Fused full depth (1x), then full depth layer by layer and transformers.js when timed. */
  readonly references: SweepRow[];
}

/**
 * Every rule at every lambda timed against fused full depth (each image both ways back to back,
 * median over passes), and the reference points, each against fused full depth.
 */
export async function sweepCaptions(
  captioner: Captioner,
  set: CaptionSet,
  options: CaptionSweepOptions = {},
): Promise<CaptionSweep> {
  const rules = options.rules ?? SWEEP_RULES;
  const lambdas = options.lambdas ?? SWEEP_LAMBDAS;
  const repeats = options.repeats ?? 2;
  const tjsDir = options.transformersJsDir;
  const total =
    (rules.length * lambdas.length + (captioner.fusedFullDepth ? 1 : 0)) * repeats +
    (tjsDir !== undefined ? 1 : 0);
  let done = 0;
  const tick = () => options.onProgress?.(++done, total);
  const full: CaptionOptions = { full: true };
  const L = captioner.numExits;
  const score = (texts: readonly string[]) =>
    scoreCaptions({ refs: set.refs, cands: candidates(set, texts) });
  const fullMs: number[] = [];
  const rows: SweepRow[] = [];
  let fullScores: ReturnType<typeof score> | undefined;
  for (const rule of rules) {
    for (const lambda of lambdas) {
      const early: CaptionOptions = { policy: await captioner.policyFor({ rule, lambda }) };
      const ways = await timeWays(
        captioner,
        set.files,
        { early, full },
        { repeats, onRepeat: tick },
      );
      fullMs.push(...ways.full.ms);
      fullScores ??= score(ways.full.results.map((r) => r.text));
      const scores = score(ways.early.results.map((x) => x.text));
      const stats = tokenStats(ways.early.results, ways.full.results);
      rows.push({
        rule,
        lambda,
        ciderD: scores.ciderD,
        bleu4: scores.bleu4,
        rougeL: scores.rougeL,
        meanExitLayer: stats.meanExitLayer,
        countedSpeedup: L / stats.meanExitLayer,
        measuredSpeedup: pairedSpeedup(ways.early.ms, ways.full.ms),
        tokenAgreement: stats.tokenAgreement,
        ms: median(ways.early.ms),
      });
    }
  }
  const fullDepthRow = (rule: string, measuredSpeedup: number, ms: number): SweepRow => ({
    rule,
    lambda: "",
    ciderD: fullScores!.ciderD,
    bleu4: fullScores!.bleu4,
    rougeL: fullScores!.rougeL,
    meanExitLayer: L,
    countedSpeedup: 1,
    measuredSpeedup,
    tokenAgreement: 1,
    ms,
  });
  const fusedName = captioner.fusedFullDepth ? "full depth (fused)" : "full depth (layer by layer)";
  const references = [fullDepthRow(fusedName, 1, median(fullMs))];
  // Without fused graphs full depth already runs layer by layer: no second point.
  if (captioner.fusedFullDepth) {
    const ways = await timeWays(
      captioner,
      set.files,
      { full, layerByLayer: { full: true, layerByLayer: true } },
      { repeats, onRepeat: tick },
    );
    references.push(
      fullDepthRow(
        "full depth (layer by layer)",
        pairedSpeedup(ways.layerByLayer.ms, ways.full.ms),
        median(ways.layerByLayer.ms),
      ),
    );
  }
  if (tjsDir !== undefined) {
    const run = await transformersJsAgainst(
      captioner,
      tjsDir,
      set.files,
      { full: (f: string) => captioner.caption(f, full) },
      { threads: TJS_DEFAULT_THREADS, onRepeat: tick },
    );
    const s = score(run.texts);
    references.push({
      rule: "transformers.js",
      lambda: "",
      ciderD: s.ciderD,
      bleu4: s.bleu4,
      rougeL: s.rougeL,
      meanExitLayer: L,
      countedSpeedup: 1,
      measuredSpeedup: pairedSpeedup(run.tjsMs, run.oursMs.full),
      tokenAgreement: "",
      ms: median(run.tjsMs),
    });
  }
  return { rows, references };
}
