// Logged exit outputs of many inputs, kept as the summaries the rules read.
import { BeemError } from "./errors.js";
import { probabilityProblem, summarize, type ExitSummary } from "./exit-output.js";
import { createScorer, type ScoreSpec } from "./rules.js";

/** One logged input: its label and every exit's probability vector, exit 1 first. */
export interface ExitSample {
  readonly label: number;
  readonly exits: readonly ArrayLike<number>[];
  /**
   * Lines that are not independent of each other (the tokens of one image's caption) share a
   * group; risk control then counts groups, not lines, as its samples.
   */
  readonly group?: string;
}

/** n inputs x L exits, row-major (sample j, exit i at j * L + i). */
export interface ExitTable {
  readonly numSamples: number;
  readonly numExits: number;
  readonly numClasses: number;
  readonly labels: Int32Array;
  readonly predictions: Int32Array;
  readonly confidences: Float64Array;
  readonly entropies: Float64Array;
  /** Per line, its group's index (0, 1, ... in order of first appearance); absent when no line has one. */
  readonly groups?: Int32Array;
}

/** Collects samples one at a time (e.g. while reading a log) and checks their shape. */
export class ExitTableBuilder {
  #numExits = 0;
  #numClasses = 0;
  readonly #labels: number[] = [];
  readonly #predictions: number[] = [];
  readonly #confidences: number[] = [];
  readonly #entropies: number[] = [];
  readonly #groups: number[] = [];
  readonly #groupIds = new Map<string, number>();

  get size(): number {
    return this.#labels.length;
  }

  /** Adds one sample from its exits' probability vectors; `where` prefixes error messages. */
  add(sample: ExitSample, where = `sample ${this.size + 1}`): void {
    if (sample.exits.length === 0) {
      throw new BeemError("INVALID_EXIT_LOG", `${where}: field "exits" is empty`);
    }
    const classes = this.#numClasses || sample.exits[0]!.length;
    const summaries = sample.exits.map((p, i) => {
      const problem = probabilityProblem(p, classes);
      if (problem !== undefined) {
        throw new BeemError("INVALID_EXIT_LOG", `${where}: field "exits[${i}]" ${problem}`);
      }
      return summarize(p);
    });
    this.addSummaries(sample.label, summaries, where, classes, sample.group);
  }

  /** Adds one sample from summaries already computed; `group` as in `ExitSample`. */
  addSummaries(
    label: number,
    summaries: readonly ExitSummary[],
    where = `sample ${this.size + 1}`,
    numClasses = this.#numClasses,
    group?: string,
  ): void {
    if (this.size > 0 && (group === undefined) !== (this.#groupIds.size === 0)) {
      throw new BeemError(
        "INVALID_EXIT_LOG",
        group === undefined
          ? `${where}: has no field "group" but earlier lines do (give every line a group or none)`
          : `${where}: has a field "group" but earlier lines do not (give every line a group or none)`,
      );
    }
    if (this.size === 0) {
      this.#numExits = summaries.length;
      this.#numClasses = numClasses;
    } else if (summaries.length !== this.#numExits) {
      throw new BeemError(
        "INVALID_EXIT_LOG",
        `${where}: has ${summaries.length} exits but the first sample has ${this.#numExits}`,
      );
    }
    if (
      !Number.isInteger(label) ||
      label < 0 ||
      (this.#numClasses > 0 && label >= this.#numClasses)
    ) {
      throw new BeemError(
        "INVALID_EXIT_LOG",
        `${where}: field "label" must be an integer in [0, ${this.#numClasses - 1}] but is ${label}`,
      );
    }
    if (group !== undefined) {
      let id = this.#groupIds.get(group);
      if (id === undefined) this.#groupIds.set(group, (id = this.#groupIds.size));
      this.#groups.push(id);
    }
    this.#labels.push(label);
    for (const s of summaries) {
      this.#predictions.push(s.prediction);
      this.#confidences.push(s.confidence);
      this.#entropies.push(s.entropy);
    }
  }

  build(): ExitTable {
    if (this.size === 0) throw new BeemError("INVALID_EXIT_LOG", "The exit log has no samples");
    return {
      numSamples: this.size,
      numExits: this.#numExits,
      numClasses: this.#numClasses,
      labels: Int32Array.from(this.#labels),
      predictions: Int32Array.from(this.#predictions),
      confidences: Float64Array.from(this.#confidences),
      entropies: Float64Array.from(this.#entropies),
      ...(this.#groupIds.size > 0 && { groups: Int32Array.from(this.#groups) }),
    };
  }
}

/** Builds a table from samples in memory. */
export function createExitTable(samples: readonly ExitSample[]): ExitTable {
  const builder = new ExitTableBuilder();
  samples.forEach((s) => builder.add(s));
  return builder.build();
}

/** The summary of sample j at exit i (0-based). */
export function summaryAt(table: ExitTable, j: number, i: number): ExitSummary {
  const k = j * table.numExits + i;
  return {
    prediction: table.predictions[k]!,
    confidence: table.confidences[k]!,
    entropy: table.entropies[k]!,
  };
}

/** Every sample's score at exits 1..L-1 (n x (L-1), row-major), by the same scorers the step API uses. */
export function scoreMatrix(table: ExitTable, spec: ScoreSpec): Float64Array {
  const width = table.numExits - 1;
  const out = new Float64Array(table.numSamples * width);
  for (let j = 0; j < table.numSamples; j++) {
    const scorer = createScorer(spec);
    for (let i = 0; i < width; i++) out[j * width + i] = scorer.next(summaryAt(table, j, i));
  }
  return out;
}

/** 1 where exit i's prediction equals the label (n x L, row-major). */
export function correctMatrix(table: ExitTable): Uint8Array {
  const out = new Uint8Array(table.numSamples * table.numExits);
  for (let j = 0; j < table.numSamples; j++) {
    for (let i = 0; i < table.numExits; i++) {
      const k = j * table.numExits + i;
      out[k] = table.predictions[k] === table.labels[j] ? 1 : 0;
    }
  }
  return out;
}

/** Accuracy of every exit on its own. */
export function exitAccuracies(table: ExitTable): number[] {
  const correct = correctMatrix(table);
  return Array.from({ length: table.numExits }, (_, i) => {
    let hits = 0;
    for (let j = 0; j < table.numSamples; j++) hits += correct[j * table.numExits + i]!;
    return hits / table.numSamples;
  });
}
