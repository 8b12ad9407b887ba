// Full depth as one fused graph (embeddings, every layer, only the last head) against full depth
// layer by layer, and bundles without the fused graph or with a broken one.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TextClassifier, type TextManifest } from "../src/index.js";
import { BUNDLE, bundlePresent } from "./bundle.js";

/** A copy of the bundle with its manifest changed. */
function bundleCopy(change: (m: { graphs: Record<string, unknown> }) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "beem-text-bundle-"));
  cpSync(BUNDLE, dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  change(m);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
  return dir;
}

// Texts of many lengths, the longest past the model's maximum (truncated).
const TEXTS = [
  "fine.",
  "a gorgeous, witty, seductive movie.",
  "the worst film of the year, and it is not even close",
  "it is neither as funny nor as touching as it wants to be, but the cast is game",
  "an uneven but often very funny comedy that never quite decides whether it wants to be a satire or a romance ".repeat(
    4,
  ),
  "dull",
  "a triumph",
  "i laughed, i cried, i checked my watch twice and then i laughed again at the end",
];

describe.runIf(bundlePresent)("fused full depth of the text bundle", () => {
  let classifier: TextClassifier;
  const copies: string[] = [];
  beforeAll(async () => {
    classifier = await TextClassifier.load(BUNDLE);
  });
  afterAll(async () => {
    await classifier.dispose();
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  });

  it.each([1, 3, 8])(
    "gives the labels and probabilities (within 1e-5) of layer-by-layer full depth, batch %i",
    async (batchSize) => {
      expect(classifier.fusedFullDepth).toBe(true);
      const fused = await classifier.classify(TEXTS, { full: true, batchSize });
      const layered = await classifier.classify(TEXTS, {
        full: true,
        layerByLayer: true,
        batchSize,
      });
      expect(fused.some((r) => r.truncated)).toBe(true);
      fused.forEach((r, i) => {
        expect(r.labelId).toBe(layered[i]!.labelId);
        expect(r.exitLayer).toBe(classifier.numExits);
        r.probabilities.forEach((p, k) =>
          expect(Math.abs(p - layered[i]!.probabilities[k]!)).toBeLessThan(1e-5),
        );
      });
    },
  );

  it("runs a bundle without the fused graph layer by layer, with the same answers", async () => {
    const dir = bundleCopy((m) => delete m.graphs.fused);
    copies.push(dir);
    const plain = await TextClassifier.load(dir);
    try {
      expect(plain.fusedFullDepth).toBe(false);
      const a = await plain.classify(TEXTS, { full: true });
      const b = await classifier.classify(TEXTS, { full: true });
      a.forEach((r, i) => expect(r.labelId).toBe(b[i]!.labelId));
    } finally {
      await plain.dispose();
    }
  });

  it("refuses a fused graph with the wrong inputs, naming the file", async () => {
    const dir = bundleCopy((m) => {
      (m.graphs.fused as TextManifest["graphs"]["embeddings"] & { file: string }).file =
        "layer_1.onnx";
    });
    copies.push(dir);
    await expect(TextClassifier.load(dir)).rejects.toMatchObject({
      code: "INVALID_BUNDLE",
      message: expect.stringMatching(/layer_1\.onnx: the graph has no input "input_ids"/),
    });
  });
});
