// Decoder caches. Each image's cross-attention keys/values are computed once per layer: all
// layers in one run up front where the bundle has the fused graph for it, else each layer when a
// token first reaches it (`ImageMemory`). Each sequence (an image's caption, or one beam of it)
// has its own self-attention cache (`SequenceCache`), with the positions whose keys/values are
// still pending in a layer the token skipped (see skipped-layers.ts).
import { ort } from "@beem-ts/runtime";
import type { CaptionModel, KeyValue } from "./caption-model.js";
import {
  concatPositions,
  joinPositions,
  selectPositions,
  splitRows,
  stackRows,
} from "./tensors.js";

let nextImageId = 0;

export class ImageMemory {
  /** Identifies this image among the images decoded together. */
  readonly id = nextImageId++;
  /** The encoder's output for this image: 1 x M x D. */
  readonly memory: ort.Tensor;
  readonly #cross: (KeyValue | undefined)[];

  constructor(memory: ort.Tensor, numExits: number) {
    this.memory = memory;
    this.#cross = new Array<KeyValue | undefined>(numExits).fill(undefined);
  }

  /** Layers whose cross-attention keys/values were computed (only those reached). */
  get crossComputed(): number {
    return this.#cross.filter((c) => c !== undefined).length;
  }

  crossAt(layer: number): KeyValue | undefined {
    return this.#cross[layer];
  }

  setCross(layer: number, kv: KeyValue): void {
    this.#cross[layer] = kv;
  }
}

/** Computes the missing cross-attention keys/values of `layer` for these images in one run. */
export async function ensureCross(
  model: CaptionModel,
  layer: number,
  images: readonly ImageMemory[],
): Promise<void> {
  const missing = [...new Set(images)].filter((m) => m.crossAt(layer) === undefined);
  if (missing.length === 0) return;
  const kv = await model.crossKv(layer, stackRows(missing.map((m) => m.memory)));
  const keys = splitRows(kv.key);
  const values = splitRows(kv.value);
  missing.forEach((m, i) => m.setCross(layer, { key: keys[i]!, value: values[i]! }));
}

/**
 * Cross-attention keys/values stacked for the rows of a layer run, kept per layer and per set
 * of images (in row order) so that a batch does not copy them again at every position: at full
 * depth every layer sees the same images position after position, with early exit the lower
 * layers do and the upper ones see a few recurring subsets. The most recent `perLayer` stacks
 * of each layer are kept.
 */
export class CrossStacks {
  readonly #perLayer: number;
  readonly #stacks = new Map<number, Map<string, KeyValue>>();

  constructor(perLayer = 4) {
    this.#perLayer = perLayer;
  }

  /** The layer's cross keys/values for these images, stacked in this order. */
  get(layer: number, images: readonly ImageMemory[]): KeyValue {
    if (images.length === 1) return images[0]!.crossAt(layer)!;
    let stacks = this.#stacks.get(layer);
    if (stacks === undefined) this.#stacks.set(layer, (stacks = new Map()));
    const id = images.map((m) => m.id).join(",");
    let kv = stacks.get(id);
    if (kv === undefined) {
      const cross = images.map((m) => m.crossAt(layer)!);
      kv = {
        key: stackRows(cross.map((c) => c.key)),
        value: stackRows(cross.map((c) => c.value)),
      };
      if (stacks.size >= this.#perLayer) stacks.delete(stacks.keys().next().value!);
    } else stacks.delete(id);
    stacks.set(id, kv); // most recent last
    return kv;
  }
}

export class SequenceCache {
  readonly image: ImageMemory;
  readonly #self: KeyValue[];
  readonly #pending: Float32Array[][];

  private constructor(image: ImageMemory, self: KeyValue[], pending: Float32Array[][]) {
    this.image = image;
    this.#self = self;
    this.#pending = pending;
  }

  /** An empty cache for a new sequence on this image. */
  static start(model: CaptionModel, image: ImageMemory): SequenceCache {
    const { heads, headDim, numExits } = model.manifest;
    const empty = () => new ort.Tensor("float32", new Float32Array(0), [1, heads, 0, headDim]);
    return new SequenceCache(
      image,
      Array.from({ length: numExits }, () => ({ key: empty(), value: empty() })),
      Array.from({ length: numExits }, () => []),
    );
  }

  /** An independent copy (a beam that continues this one); tensors are never mutated. */
  clone(): SequenceCache {
    return new SequenceCache(
      this.image,
      [...this.#self],
      this.#pending.map((p) => [...p]),
    );
  }

  /** Positions of `layer` still waiting for their keys/values. */
  pendingAt(layer: number): readonly Float32Array[] {
    return this.#pending[layer]!;
  }

  /**
   * The layer (0-based) a pending position exited at, by its hidden state: the one below the
   * lowest layer it is pending at (the fills that need it fill a position's layers all at once).
   */
  exitLayerOf(hidden: Float32Array): number {
    const lowest = this.#pending.findIndex((p) => p.includes(hidden));
    if (lowest < 1) throw new Error("Not a pending position of this sequence");
    return lowest - 1;
  }

  /** The layer's past keys/values; pending positions must have been filled (`fillPending`). */
  pastAt(layer: number): KeyValue {
    if (this.#pending[layer]!.length > 0)
      throw new Error(`Layer ${layer + 1} has positions still pending`);
    return this.#self[layer]!;
  }

  /** Appends computed keys/values for the layer's pending positions. */
  fill(layer: number, filled: KeyValue): void {
    const cached = this.#self[layer]!;
    this.#self[layer] = {
      key: concatPositions(cached.key, filled.key),
      value: concatPositions(cached.value, filled.value),
    };
    this.#pending[layer] = [];
  }

  /** Appends keys/values of the next position to a layer with nothing pending. */
  append(layer: number, next: KeyValue): void {
    const cached = this.pastAt(layer);
    this.#self[layer] = {
      key: concatPositions(cached.key, next.key),
      value: concatPositions(cached.value, next.value),
    };
  }

  /** Stores a step's present keys/values (past plus this position). */
  update(layer: number, present: KeyValue): void {
    this.#self[layer] = present;
  }

  /** The token exited at `layer` (0-based): layers above get its hidden state, to fill later. */
  skipAbove(layer: number, hidden: Float32Array): void {
    for (let j = layer + 1; j < this.#pending.length; j++) this.#pending[j]!.push(hidden);
  }
}

/**
 * Computes the pending keys/values of `layer` for these sequences. Where the bundle has
 * `fillAbove` graphs, `layer` and every layer above it are filled at once: one run for each
 * group of sequences with the same number of positions pending at the top layer (which holds
 * every position pending anywhere, in order). Where those graphs depend on the exit layer (the
 * bundle's `fillMaps`), every position pending at the top goes through its own exit layer's
 * graph instead: one run per exit layer and group. Otherwise one kv-graph run of `layer` alone
 * per group of sequences with the same number of pending positions.
 */
export async function fillPending(
  model: CaptionModel,
  layer: number,
  caches: readonly SequenceCache[],
): Promise<void> {
  const waiting = caches.filter((c) => c.pendingAt(layer).length > 0);
  if (waiting.length === 0) return;
  const top = model.numExits - 1;
  const allAbove = layer > 0 && model.fillsInOneRun;
  if (allAbove && model.fillDependsOnExit) return fillByExitLayer(model, layer, waiting);
  const source = allAbove ? top : layer;
  for (const [positions, group] of groupBy(waiting, (c) => c.pendingAt(source).length)) {
    const hidden = pendingHidden(group, source, positions, model.manifest.hiddenSize);
    if (!allAbove) {
      const kv = await model.selfKv(layer, hidden);
      const keys = splitRows(kv.key);
      const values = splitRows(kv.value);
      group.forEach((c, g) => c.fill(layer, { key: keys[g]!, value: values[g]! }));
      continue;
    }
    // Layers layer..top for every position pending at the top; each layer keeps its own.
    const filled = await model.fillAbove(layer - 1, hidden);
    filled.forEach((kv, k) => {
      const j = layer + k;
      const keys = splitRows(kv.key);
      const values = splitRows(kv.value);
      group.forEach((c, g) => {
        const wanted = new Set(c.pendingAt(j));
        if (wanted.size === 0) return;
        const at = c.pendingAt(top).flatMap((h, i) => (wanted.has(h) ? [i] : []));
        c.fill(j, {
          key: selectPositions(keys[g]!, at),
          value: selectPositions(values[g]!, at),
        });
      });
    });
  }
}

/** `fillPending` where each exit layer has its own fill: see there. */
async function fillByExitLayer(
  model: CaptionModel,
  layer: number,
  waiting: readonly SequenceCache[],
): Promise<void> {
  const top = model.numExits - 1;
  // Every position pending anywhere is pending at the top; each one's exit layer, found once.
  const exitOf = new Map<Float32Array, number>();
  for (const c of waiting) for (const h of c.pendingAt(top)) exitOf.set(h, c.exitLayerOf(h));
  // Each position's keys/values of the layers above its exit, lowest first, one position each.
  const filled = new Map<Float32Array, KeyValue[]>();
  for (const exit of [...new Set(exitOf.values())].sort((a, b) => a - b)) {
    const from = new Map(
      waiting.map((c) => [c, c.pendingAt(top).filter((h) => exitOf.get(h) === exit)] as const),
    );
    const caches = waiting.filter((c) => from.get(c)!.length > 0);
    for (const [positions, group] of groupBy(caches, (c) => from.get(c)!.length)) {
      const rows = group.map((c) => from.get(c)!);
      const kvs = await model.fillAbove(
        exit,
        stackHidden(rows, positions, model.manifest.hiddenSize),
      );
      kvs.forEach((kv, k) => {
        const keys = splitRows(kv.key);
        const values = splitRows(kv.value);
        group.forEach((_, g) =>
          rows[g]!.forEach((h, p) => {
            const list = filled.get(h) ?? [];
            list[k] = {
              key: selectPositions(keys[g]!, [p]),
              value: selectPositions(values[g]!, [p]),
            };
            filled.set(h, list);
          }),
        );
      });
    }
  }
  for (const c of waiting)
    for (let j = layer; j <= top; j++) {
      const parts = c.pendingAt(j).map((h) => filled.get(h)![j - exitOf.get(h)! - 1]!);
      if (parts.length === 0) continue;
      c.fill(j, {
        key: joinPositions(parts.map((p) => p.key)),
        value: joinPositions(parts.map((p) => p.value)),
      });
    }
}

function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

/** The hidden states pending at `layer` of each cache: caches x positions x D. */
function pendingHidden(
  caches: readonly SequenceCache[],
  layer: number,
  positions: number,
  d: number,
): ort.Tensor {
  return stackHidden(
    caches.map((c) => c.pendingAt(layer)),
    positions,
    d,
  );
}

/** Rows of `positions` hidden states each: rows x positions x D. */
function stackHidden(
  rows: readonly (readonly Float32Array[])[],
  positions: number,
  d: number,
): ort.Tensor {
  const hidden = new Float32Array(rows.length * positions * d);
  rows.forEach((row, g) => row.forEach((h, i) => hidden.set(h, (g * positions + i) * d)));
  return new ort.Tensor("float32", hidden, [rows.length, positions, d]);
}
