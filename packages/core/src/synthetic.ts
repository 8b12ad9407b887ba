// Deterministic synthetic multi-exit outputs: for trying the tools and for tests.
import { checkInteger } from "./check.js";
import { softmax } from "./exit-output.js";
import type { ExitSample } from "./exit-table.js";

export interface SyntheticOptions {
  /** Default 1000. */
  readonly samples?: number;
  /** Default 12. */
  readonly exits?: number;
  /** Default 2. */
  readonly classes?: number;
  /** Default 0. */
  readonly seed?: number;
}

/** Mulberry32. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Outputs of a model whose exits grow more accurate with depth: each input has a difficulty,
 * each exit sees the true class with a strength that grows with depth and falls with
 * difficulty, plus noise correlated between neighbouring exits (so neighbours tend to agree,
 * as real exits do).
 */
export function generateSyntheticExits(options: SyntheticOptions = {}): ExitSample[] {
  const samples = checkInteger("samples", options.samples ?? 1000, 1);
  const exits = checkInteger("exits", options.exits ?? 12, 1);
  const classes = checkInteger("classes", options.classes ?? 2, 2);
  const random = seededRandom(checkInteger("seed", options.seed ?? 0, 0));
  const gaussian = (): number =>
    Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rho = 0.8;
  const out: ExitSample[] = [];
  for (let j = 0; j < samples; j++) {
    const label = Math.floor(random() * classes);
    const difficulty = random();
    const noise = Array.from({ length: classes }, gaussian);
    const vectors: Float64Array[] = [];
    for (let i = 1; i <= exits; i++) {
      const strength = 4 * Math.sqrt(i / exits) * (1.2 - difficulty);
      const logits = noise.map((z, c) => 1.5 * z + (c === label ? strength : 0));
      vectors.push(softmax(logits));
      for (let c = 0; c < classes; c++)
        noise[c] = rho * noise[c]! + Math.sqrt(1 - rho * rho) * gaussian();
    }
    out.push({ label, exits: vectors });
  }
  return out;
}
