// Full depth as one fused graph against full depth layer by layer, the exit summaries computed
// inside the step graphs, the skipped-layer fill strategies, and bundles without the fused
// graphs or with broken ones.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { softmax, summarize } from "@beem-ts/core";
import { ort } from "@beem-ts/runtime";
import { Captioner, SKIPPED_LAYER_FILLS, type CaptionManifest } from "../src/index.js";
import { BUNDLE, bundlePresent, closedPolicy, goldenScenes, type Golden } from "./bundle.js";

/** A copy of the bundle with its manifest changed. */
function bundleCopy(change: (m: CaptionManifest & Record<string, unknown>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "beem-caption-bundle-"));
  cpSync(BUNDLE, dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  change(m);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
  return dir;
}

describe.runIf(bundlePresent)("fused full depth and per-layer exits", () => {
  let captioner: Captioner;
  let golden: Golden;
  let images: Buffer[];
  const copies: string[] = [];
  beforeAll(async () => {
    captioner = await Captioner.load(BUNDLE);
    ({ golden, images } = await goldenScenes());
  });
  afterAll(async () => {
    await captioner.dispose();
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  });

  it("runs full depth in the fused graph, token for token as layer by layer and PyTorch", async () => {
    expect(captioner.fusedFullDepth).toBe(true);
    for (const [i, image] of images.entries()) {
      const fused = await captioner.caption(image, { full: true });
      const layered = await captioner.caption(image, { full: true, layerByLayer: true });
      expect(fused.tokens.map((t) => t.id)).toEqual(golden.tokens[i]);
      expect(layered.tokens.map((t) => t.id)).toEqual(golden.tokens[i]);
      fused.tokens.forEach((t, k) => {
        expect(t.exitLayer).toBe(captioner.numExits);
        expect(t.confidence).toBeCloseTo(layered.tokens[k]!.confidence, 5);
      });
    }
  });

  it("runs a batch at full depth in the fused graph as it runs each image alone", async () => {
    const batch = await captioner.captionBatch(images, { full: true });
    for (const [i, entry] of batch.entries()) {
      if (!entry.ok) throw entry.error;
      expect(entry.result.tokens.map((t) => t.id)).toEqual(golden.tokens[i]);
    }
  });

  it("computes each exit's summary in the step graph as the core does from the logits", async () => {
    const m = captioner.model;
    const { heads, headDim, hiddenSize, memoryLength } = m.manifest;
    const random = (n: number, seed: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
    const empty = new ort.Tensor("float32", new Float32Array(0), [3, heads, 0, headDim]);
    const cross = {
      key: new ort.Tensor("float32", random(3 * heads * memoryLength * headDim, 1), [
        3,
        heads,
        memoryLength,
        headDim,
      ]),
      value: new ort.Tensor("float32", random(3 * heads * memoryLength * headDim, 2), [
        3,
        heads,
        memoryLength,
        headDim,
      ]),
    };
    for (let layer = 0; layer < m.numExits; layer++) {
      const hidden = new ort.Tensor("float32", random(3 * hiddenSize, layer), [3, 1, hiddenSize]);
      const out = await m.step(layer, hidden, { key: empty, value: empty }, cross, {
        logits: true,
      });
      out.summaries.forEach((s, row) => {
        const v = m.manifest.vocabSize;
        const expected = summarize(softmax(out.logits!.subarray(row * v, (row + 1) * v)));
        expect(s.prediction).toBe(expected.prediction);
        expect(s.confidence).toBeCloseTo(expected.confidence, 5);
        expect(s.entropy).toBeCloseTo(expected.entropy, 4);
      });
    }
  });

  it.each(SKIPPED_LAYER_FILLS)(
    "fills skipped layers %s: exact full depth at infinite thresholds, the same exits as the other strategy",
    async (fill) => {
      const closed = closedPolicy(captioner.numExits);
      const other = SKIPPED_LAYER_FILLS.find((f) => f !== fill)!;
      for (const [i, image] of images.entries()) {
        const full = await captioner.caption(image, { policy: closed, fill });
        expect(full.tokens.map((t) => t.id)).toEqual(golden.tokens[i]);
        const early = await captioner.caption(image, { fill });
        const early2 = await captioner.caption(image, { fill: other });
        expect(early.tokens.map((t) => [t.id, t.exitLayer])).toEqual(
          early2.tokens.map((t) => [t.id, t.exitLayer]),
        );
        expect(early.meanExitLayer).toBeLessThan(captioner.numExits);
      }
    },
  );

  it("refuses an unknown fill strategy by name", async () => {
    await expect(captioner.caption(images[0]!, { fill: "later" as "eager" })).rejects.toThrow(
      /Expected fill to be one of "eager", "deferred" but received "later"/,
    );
  });

  it("runs a bundle without the fused graphs layer by layer, with the same tokens", async () => {
    const dir = bundleCopy((m) => {
      delete (m.graphs as Record<string, unknown>).fused;
      delete (m.graphs as Record<string, unknown>).embedStep;
      for (const l of m.graphs.layers) delete (l as unknown as Record<string, unknown>).fillAbove;
    });
    copies.push(dir);
    const plain = await Captioner.load(dir);
    try {
      expect(plain.fusedFullDepth).toBe(false);
      expect(plain.model.fillsInOneRun).toBe(false);
      for (const [i, image] of images.slice(0, 3).entries()) {
        const full = await plain.caption(image, { full: true });
        expect(full.tokens.map((t) => t.id)).toEqual(golden.tokens[i]);
        const early = await plain.caption(image);
        const withGraphs = await captioner.caption(image);
        expect(early.tokens.map((t) => [t.id, t.exitLayer])).toEqual(
          withGraphs.tokens.map((t) => [t.id, t.exitLayer]),
        );
      }
    } finally {
      await plain.dispose();
    }
  });

  it("refuses a fused graph with the wrong inputs or a missing file, naming the file", async () => {
    const wrong = bundleCopy((m) => {
      (m.graphs as { fused: { step: string } }).fused.step = "layer_1.onnx";
    });
    const missing = bundleCopy((m) => {
      (m.graphs as { fused: { crossKv: string } }).fused.crossKv = "nowhere.onnx";
    });
    copies.push(wrong, missing);
    await expect(Captioner.load(wrong)).rejects.toMatchObject({
      code: "INVALID_BUNDLE",
      message: expect.stringMatching(/layer_1\.onnx: the graph has no input "input_ids"/),
    });
    await expect(Captioner.load(missing)).rejects.toMatchObject({
      code: "INVALID_BUNDLE",
      message: expect.stringMatching(/nowhere\.onnx/),
    });
  });
});
