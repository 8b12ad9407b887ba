// What a captioner's figures on real photos are read against: a nearest-neighbour baseline
// (borrowing a training photo's caption), human agreement (one reference scored against the
// others), and how often captions degenerate.
import {
  ciderDScores,
  metricTokens,
  scoreCaptions,
  type CaptionResult,
  type CaptionScores,
  type Captioner,
} from "@beem-ts/caption";
import type { CaptionDataRow } from "./caption-data.js";
import { BenchError } from "./errors.js";

/** Neighbourhood sizes tried for consensus re-ranking when choosing k on a dev split. */
export const NEIGHBOUR_KS = [1, 3, 5, 10, 20, 40] as const;

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb || 1);
}

/**
 * Nearest-neighbour captioning with consensus re-ranking (Devlin et al., "Exploring Nearest
 * Neighbor Approaches for Image Captioning", 2015): the k training photos closest to the image
 * by the captioner's own encoder features (`imageEmbedding`, cosine similarity) pool their
 * captions, and the caption that agrees most with the rest of the pool (CIDEr-D against the
 * others) is the answer. k = 1 picks the consensus of the nearest photo's own captions.
 */
export class NearestNeighbours {
  readonly #captions: readonly (readonly string[])[];
  readonly #embeddings: readonly Float32Array[];

  private constructor(captions: readonly (readonly string[])[], embeddings: Float32Array[]) {
    this.#captions = captions;
    this.#embeddings = embeddings;
  }

  /** Embeds every training photo once (about one encoder run each). */
  static async index(
    captioner: Captioner,
    train: readonly CaptionDataRow[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<NearestNeighbours> {
    const embeddings: Float32Array[] = [];
    for (const [i, row] of train.entries()) {
      embeddings.push(await captioner.imageEmbedding(row.image));
      onProgress?.(i + 1, train.length);
    }
    return new NearestNeighbours(
      train.map((r) => r.captions),
      embeddings,
    );
  }

  get size(): number {
    return this.#captions.length;
  }

  /** The training photos' indices, most similar first. */
  ranking(embedding: Float32Array): number[] {
    const similarity = this.#embeddings.map((e) => cosine(embedding, e));
    return similarity.map((_, i) => i).sort((a, b) => similarity[b]! - similarity[a]! || a - b);
  }

  /** The consensus caption of the k nearest training photos (given their `ranking`). */
  caption(ranking: readonly number[], k: number): string {
    const pool = ranking.slice(0, k).flatMap((i) => this.#captions[i]!);
    const tokens = pool.map(metricTokens);
    const scores = ciderDScores(
      tokens,
      tokens.map((_, i) => tokens.filter((__, j) => j !== i)),
    );
    let best = 0;
    for (let i = 1; i < pool.length; i++) if (scores[i]! > scores[best]!) best = i;
    return pool[best]!;
  }
}

/**
 * Human agreement by leave-one-out: each image's reference j scored against its other
 * references, for every j, the scores averaged over the rotations. With `candidates`, the
 * model's captions are scored against the same reduced reference sets, so the two read alike.
 */
export function leaveOneOut(
  ids: readonly string[],
  refs: Readonly<Record<string, readonly string[]>>,
  candidates?: readonly string[],
): { human: CaptionScores; model?: CaptionScores; rotations: number } {
  const rotations = Math.min(...ids.map((id) => refs[id]!.length));
  if (rotations < 2)
    throw new BenchError("INVALID_DATA", "leave-one-out needs at least two references per image");
  const sums: { human: CaptionScores[]; model: CaptionScores[] } = { human: [], model: [] };
  for (let j = 0; j < rotations; j++) {
    const others = Object.fromEntries(ids.map((id) => [id, refs[id]!.filter((_, k) => k !== j)]));
    sums.human.push(
      scoreCaptions({
        refs: others,
        cands: Object.fromEntries(ids.map((id) => [id, refs[id]![j]!])),
      }),
    );
    if (candidates !== undefined)
      sums.model.push(
        scoreCaptions({
          refs: others,
          cands: Object.fromEntries(ids.map((id, i) => [id, candidates[i]!])),
        }),
      );
  }
  const mean = (all: CaptionScores[]) =>
    Object.fromEntries(
      Object.keys(all[0]!).map((key) => [
        key,
        all.reduce((s, x) => s + x[key as keyof CaptionScores], 0) / all.length,
      ]),
    ) as unknown as CaptionScores;
  return {
    human: mean(sums.human),
    ...(candidates !== undefined && { model: mean(sums.model) }),
    rotations,
  };
}

export interface Degeneracy {
  readonly captions: number;
  /** Captions that ended with the end token (not cut at the length limit). */
  readonly ended: number;
  /** Captions cut at the length limit. */
  readonly cutAtMaxLength: number;
  /** Captions with a word repeated three or more times in a row ("bear bear bear"). */
  readonly repeatedWord: number;
}

/** How many captions were cut at the length limit or repeat a word three times in a row. */
export function degeneracy(results: readonly CaptionResult[]): Degeneracy {
  let ended = 0;
  let repeated = 0;
  for (const r of results) {
    if (r.exitLayers.length > r.tokens.length) ended++;
    const words = metricTokens(r.text);
    if (words.some((w, i) => i >= 2 && w === words[i - 1] && w === words[i - 2])) repeated++;
  }
  return {
    captions: results.length,
    ended,
    cutAtMaxLength: results.length - ended,
    repeatedWord: repeated,
  };
}

export interface BaselineReport {
  /** Nearest-neighbour captions with consensus re-ranking over k training photos. */
  readonly nearestNeighbour: CaptionScores & {
    readonly k: number;
    /** Where k came from: "dev" (best of NEIGHBOUR_KS there), "given", or "default" (5). */
    readonly kChosenOn: string;
    readonly trainImages: number;
  };
  /** Each reference against the others, and the model's captions against the same others. */
  readonly leaveOneOut: {
    readonly rotations: number;
    readonly human: CaptionScores;
    readonly full: CaptionScores;
    readonly early: CaptionScores;
  };
  readonly degeneracy: { readonly full: Degeneracy; readonly early: Degeneracy };
}

/**
 * The baselines of a caption data set's split: nearest neighbours from its `train` split (k
 * fixed, or chosen as the best of NEIGHBOUR_KS on its `dev` split when there is one, never on
 * the split evaluated unless that is dev), human leave-one-out, and degeneracy counts.
 */
export async function measureBaselines(
  captioner: Captioner,
  input: {
    readonly rows: readonly CaptionDataRow[];
    readonly ids: readonly string[];
    readonly refs: Readonly<Record<string, readonly string[]>>;
    readonly full: readonly CaptionResult[];
    readonly early: readonly CaptionResult[];
    readonly k?: number | undefined;
  },
  onProgress?: (done: number, total: number) => void,
): Promise<BaselineReport> {
  const train = input.rows.filter((r) => r.split === "train");
  if (train.length === 0)
    throw new BenchError("INVALID_DATA", "the data set has no train split to borrow captions from");
  const dev = input.k === undefined ? input.rows.filter((r) => r.split === "dev") : [];
  const total = train.length + dev.length + input.ids.length;
  let done = 0;
  const tick = () => onProgress?.(++done, total);
  const index = await NearestNeighbours.index(captioner, train, tick);
  const rankings = async (files: readonly string[]) => {
    const out: number[][] = [];
    for (const f of files) {
      out.push(index.ranking(await captioner.imageEmbedding(f)));
      tick();
    }
    return out;
  };
  let k = input.k ?? 5;
  if (dev.length > 0) {
    const devRankings = await rankings(dev.map((r) => r.image));
    const devRefs = Object.fromEntries(dev.map((r) => [r.image, r.captions]));
    let best = -Infinity;
    for (const candidate of NEIGHBOUR_KS) {
      const cands = Object.fromEntries(
        dev.map((r, i) => [r.image, index.caption(devRankings[i]!, candidate)]),
      );
      const cider = scoreCaptions({ refs: devRefs, cands }).ciderD;
      if (cider > best) [best, k] = [cider, candidate];
    }
  }
  const ranked = await rankings(input.ids);
  const nn = scoreCaptions({
    refs: input.refs,
    cands: Object.fromEntries(input.ids.map((id, i) => [id, index.caption(ranked[i]!, k)])),
  });
  const full = leaveOneOut(
    input.ids,
    input.refs,
    input.full.map((r) => r.text),
  );
  const early = leaveOneOut(
    input.ids,
    input.refs,
    input.early.map((r) => r.text),
  );
  return {
    nearestNeighbour: {
      ...nn,
      k,
      kChosenOn: input.k !== undefined ? "given" : dev.length > 0 ? "dev" : "default",
      trainImages: train.length,
    },
    leaveOneOut: {
      rotations: full.rotations,
      human: full.human,
      full: full.model!,
      early: early.model!,
    },
    degeneracy: { full: degeneracy(input.full), early: degeneracy(input.early) },
  };
}
