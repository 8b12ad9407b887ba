// Stacked cross-attention keys/values are reused while the same images run a layer together.
import { ort } from "@beem-ts/runtime";
import { describe, expect, it } from "vitest";
import { CrossStacks, ImageMemory } from "../src/index.js";

const HEADS = 2;
const LENGTH = 3;
const DIM = 4;

function image(fill: number): ImageMemory {
  const m = new ImageMemory(new ort.Tensor("float32", new Float32Array(1), [1, 1, 1]), 2);
  const size = HEADS * LENGTH * DIM;
  const kv = (offset: number) =>
    new ort.Tensor("float32", new Float32Array(size).fill(fill + offset), [1, HEADS, LENGTH, DIM]);
  for (const layer of [0, 1]) m.setCross(layer, { key: kv(0), value: kv(0.5) });
  return m;
}

describe("CrossStacks", () => {
  const [a, b, c] = [image(1), image(2), image(3)];

  it("stacks the images' keys and values in row order", () => {
    const kv = new CrossStacks().get(0, [c, a]);
    expect(kv.key.dims).toEqual([2, HEADS, LENGTH, DIM]);
    const rowSize = HEADS * LENGTH * DIM;
    expect((kv.key.data as Float32Array)[0]).toBe(3);
    expect((kv.key.data as Float32Array)[rowSize]).toBe(1);
    expect((kv.value.data as Float32Array)[rowSize]).toBe(1.5);
  });

  it("reuses a stack for the same images at the same layer, not across layers or orders", () => {
    const stacks = new CrossStacks();
    const first = stacks.get(0, [a, b]);
    expect(stacks.get(0, [a, b])).toBe(first);
    expect(stacks.get(1, [a, b])).not.toBe(first);
    expect(stacks.get(0, [b, a])).not.toBe(first);
  });

  it("passes a single image's tensors through without copying", () => {
    expect(new CrossStacks().get(1, [b])).toBe(b.crossAt(1));
  });

  it("keeps only the most recent stacks of each layer", () => {
    const stacks = new CrossStacks(2);
    const ab = stacks.get(0, [a, b]);
    const ac = stacks.get(0, [a, c]);
    expect(stacks.get(0, [a, b])).toBe(ab); // kept, and now the most recent
    const bc = stacks.get(0, [b, c]); // evicts [a, c], the least recent
    expect(stacks.get(0, [a, c])).not.toBe(ac); // stacked again, evicting [a, b]
    expect(stacks.get(0, [b, c])).toBe(bc);
    expect(stacks.get(0, [a, b])).not.toBe(ab);
  });
});
