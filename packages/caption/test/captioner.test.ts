import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDecider } from "@beem-ts/core";
import { ort } from "@beem-ts/runtime";
import {
  Captioner,
  ImageMemory,
  PreparedImage,
  SequenceCache,
  decodeBeams,
  imageToPixels,
  type CaptionManifest,
} from "../src/index.js";
import {
  BUNDLE,
  TJS_BUNDLE,
  bundlePresent,
  closedPolicy,
  goldenScenes,
  type Golden,
} from "./bundle.js";

/** The transformers.js export's encoder and merged decoder, run directly. */
async function tjsSessions() {
  const opts = { executionProviders: ["cpu"], intraOpNumThreads: 1 } as const;
  return {
    encoder: await ort.InferenceSession.create(join(TJS_BUNDLE, "onnx/encoder_model.onnx"), opts),
    decoder: await ort.InferenceSession.create(
      join(TJS_BUNDLE, "onnx/decoder_model_merged.onnx"),
      opts,
    ),
  };
}

/** The transformers.js decoder's empty past keys/values (first step). */
function emptyPast(m: CaptionManifest): Record<string, ort.Tensor> {
  const past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < m.numExits; l++) {
    for (const kind of ["key", "value"]) {
      past[`past_key_values.${l}.${kind}`] = new ort.Tensor("float32", new Float32Array(0), [
        1,
        m.heads,
        0,
        m.headDim,
      ]);
    }
  }
  return past;
}

describe.runIf(bundlePresent)("Captioner on the bundled model", () => {
  let captioner: Captioner;
  let golden: Golden;
  let images: Buffer[];
  beforeAll(async () => {
    captioner = await Captioner.load(BUNDLE);
    ({ golden, images } = await goldenScenes());
  });
  afterAll(async () => {
    await captioner.dispose();
  });

  it("at full depth gives PyTorch's greedy captions token for token", async () => {
    for (const [i, image] of images.entries()) {
      const r = await captioner.caption(image, { full: true });
      expect(r.tokens.map((t) => t.id)).toEqual(golden.tokens[i]);
      expect(r.tokens.every((t) => t.exitLayer === captioner.numExits)).toBe(true);
    }
  });

  it("with every threshold at infinity is exactly the full-depth output", async () => {
    const closed = closedPolicy(captioner.numExits);
    for (const image of images.slice(0, 3)) {
      const a = await captioner.caption(image, { policy: closed });
      const b = await captioner.caption(image, { full: true });
      expect(a.text).toBe(b.text);
      expect(a.tokens.map((t) => t.confidence)).toEqual(b.tokens.map((t) => t.confidence));
    }
  });

  it("exits early with the default policy and computes cross-attention only for layers reached", async () => {
    const r = await captioner.caption(images[0]!);
    expect(r.meanExitLayer).toBeLessThan(captioner.numExits);
    const deepest = Math.max(...r.tokens.map((t) => t.exitLayer));
    expect(r.crossLayers).toBeGreaterThanOrEqual(deepest);
    expect(r.crossLayers).toBeLessThanOrEqual(captioner.numExits);
  });

  it("gives the end token's layer apart, counted in the mean; none when cut at maxTokens", async () => {
    const r = await captioner.caption(images[0]!);
    expect(r.exitLayers).toEqual([...r.tokens.map((t) => t.exitLayer), r.endExitLayer]);
    const all = r.exitLayers;
    expect(r.meanExitLayer).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 12);
    const cut = await captioner.caption(images[0]!, { maxTokens: 2 });
    expect(cut.tokens).toHaveLength(2);
    expect(cut.endExitLayer).toBeNull();
    expect(cut.exitLayers).toEqual(cut.tokens.map((t) => t.exitLayer));
  });

  it("streams the same tokens the caption holds", async () => {
    const streamed = [];
    for await (const t of captioner.stream(images[1]!)) streamed.push(t.id);
    expect(streamed).toEqual((await captioner.caption(images[1]!)).tokens.map((t) => t.id));
  });

  it("captions a batch with the same tokens and per-token exits as one image at a time", async () => {
    const batch = await captioner.captionBatch(images.slice(0, 6));
    expect(batch).toHaveLength(6);
    for (const [i, entry] of batch.entries()) {
      if (!entry.ok) throw entry.error;
      const alone = await captioner.caption(images[i]!);
      expect(entry.result.tokens.map((t) => t.id)).toEqual(alone.tokens.map((t) => t.id));
      expect(entry.result.tokens.map((t) => t.exitLayer)).toEqual(
        alone.tokens.map((t) => t.exitLayer),
      );
      for (const [k, t] of entry.result.tokens.entries())
        expect(t.confidence).toBeCloseTo(alone.tokens[k]!.confidence, 5);
    }
    // Different images exit at different layers within one batch.
    const layers = batch.flatMap((e) => (e.ok ? e.result.tokens.map((t) => t.exitLayer) : []));
    expect(new Set(layers).size).toBeGreaterThan(1);
  });

  it("captions the good images of a batch and names the bad ones", async () => {
    const batch = await captioner.captionBatch([
      images[0]!,
      Buffer.from("not an image"),
      "/nonexistent/scene.png",
      images[1]!,
    ]);
    expect(batch.map((e) => e.ok)).toEqual([true, false, false, true]);
    expect(batch[1]).toMatchObject({ ok: false, error: { code: "UNSUPPORTED_IMAGE" } });
    expect(batch[2]).toMatchObject({
      ok: false,
      error: { code: "FILE_NOT_FOUND", message: /\/nonexistent\/scene.png/ },
    });
    const first = batch[3]!.ok ? batch[3]!.result.text : "";
    expect(first).toBe((await captioner.caption(images[1]!)).text);
  });

  it("captions prepared images as it captions their bytes, and checks what they were prepared for", async () => {
    const prepared = await Promise.all(images.slice(0, 3).map((i) => captioner.prepare(i)));
    const fromPrepared = await captioner.captionBatch(prepared);
    const fromBytes = await captioner.captionBatch(images.slice(0, 3));
    expect(fromPrepared.map((e) => e.ok && e.result.text)).toEqual(
      fromBytes.map((e) => e.ok && e.result.text),
    );
    expect((await captioner.caption(prepared[0]!)).text).toBe(
      fromBytes[0]!.ok ? fromBytes[0]!.result.text : "",
    );
    await expect(captioner.prepare(Buffer.from("not an image"))).rejects.toMatchObject({
      code: "UNSUPPORTED_IMAGE",
    });
    const other = new PreparedImage(prepared[0]!.pixels, {
      ...prepared[0]!.spec,
      size: prepared[0]!.spec.size * 2,
    });
    await expect(captioner.caption(other)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: /prepared for another model's input/,
    });
  });

  it("beam search with one beam is greedy decoding", async () => {
    for (const image of images.slice(0, 4)) {
      for (const full of [true, false]) {
        const greedy = await captioner.caption(image, { full });
        const beam = await captioner.caption(image, { full, beams: 1 });
        expect(beam.tokens).toEqual(greedy.tokens);
      }
    }
  });

  it.runIf(TJS_BUNDLE !== "")(
    "beam search at full depth scores captions by their log-probability under the model",
    async () => {
      // The score of the best beam, recomputed independently: the transformers.js export run
      // teacher-forced over the beam's tokens, log-probabilities summed, divided by the length.
      const m = captioner.model;
      const { encoder, decoder } = await tjsSessions();
      const full = createDecider({ version: 1, rule: "final", numExits: m.numExits });
      for (const image of images.slice(0, 4)) {
        const pixels = await imageToPixels(image, m.manifest.image);
        const start = SequenceCache.start(m, new ImageMemory(await m.encode([pixels]), m.numExits));
        const best = await decodeBeams(m, start, full, { beams: 4, maxTokens: 39 });
        expect(best.tokens.at(-1)!.end).toBe(true);
        expect(best.tokens.every((t) => t.exitLayer === m.numExits)).toBe(true);

        const s = m.manifest.image.size;
        const states = (
          await encoder.run({ pixel_values: new ort.Tensor("float32", pixels, [1, 3, s, s]) })
        ).last_hidden_state!;
        const ids = [m.manifest.tokens.bos, ...best.tokens.map((t) => t.id)];
        const V = m.manifest.vocabSize;
        let past = emptyPast(m.manifest);
        let logProb = 0;
        for (let t = 0; t < ids.length - 1; t++) {
          const out = await decoder.run({
            input_ids: new ort.Tensor("int64", BigInt64Array.of(BigInt(ids[t]!)), [1, 1]),
            encoder_hidden_states: states,
            ...past,
          });
          const row = (out.logits!.data as Float32Array).subarray(0, V);
          const max = Math.max(...row);
          const lse = max + Math.log(row.reduce((sum, v) => sum + Math.exp(v - max), 0));
          logProb += row[ids[t + 1]!]! - lse;
          past = {};
          for (let l = 0; l < m.numExits; l++) {
            past[`past_key_values.${l}.key`] = out[`present.${l}.key`]!;
            past[`past_key_values.${l}.value`] = out[`present.${l}.value`]!;
          }
        }
        expect(best.score).toBeCloseTo(logProb / (ids.length - 1), 4);
      }
      await encoder.release();
      await decoder.release();
    },
  );

  it.runIf(TJS_BUNDLE !== "")(
    "the transformers.js export, run greedily, gives the same captions",
    async () => {
      const { encoder, decoder } = await tjsSessions();
      const m = captioner.model.manifest;
      for (const [i, image] of images.slice(0, 4).entries()) {
        const pixels = await imageToPixels(image, m.image);
        const s = m.image.size;
        const states = (
          await encoder.run({ pixel_values: new ort.Tensor("float32", pixels, [1, 3, s, s]) })
        ).last_hidden_state!;
        let past = emptyPast(m);
        let token = m.tokens.bos;
        const out: number[] = [];
        for (let step = 0; step < m.maxLength - 1; step++) {
          const r = await decoder.run({
            input_ids: new ort.Tensor("int64", BigInt64Array.of(BigInt(token)), [1, 1]),
            encoder_hidden_states: states,
            ...past,
          });
          const logits = r.logits!.data as Float32Array;
          token = logits.indexOf(Math.max(...logits));
          if (token === m.tokens.eos) break;
          out.push(token);
          past = {};
          for (let l = 0; l < m.numExits; l++) {
            past[`past_key_values.${l}.key`] = r[`present.${l}.key`]!;
            past[`past_key_values.${l}.value`] = r[`present.${l}.value`]!;
          }
        }
        expect(out).toEqual(golden.tokens[i]);
      }
      await encoder.release();
      await decoder.release();
    },
  );

  it("reads JPEG, WebP, GIF, TIFF and AVIF, applies EXIF orientation and flattens alpha", async () => {
    const png = images[0]!;
    const base = await imageToPixels(png, captioner.model.manifest.image);
    for (const format of ["jpeg", "webp", "gif", "tiff", "avif"] as const) {
      const encoded = await sharp(png).toFormat(format).toBuffer();
      const pixels = await imageToPixels(encoded, captioner.model.manifest.image);
      expect(pixels.length).toBe(base.length);
    }
    // Rotated 90 degrees and tagged with EXIF orientation 6 ("rotate 90 to view"): same pixels.
    const rotated = await sharp(png)
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 100 })
      .toBuffer();
    const upright = await sharp(png).jpeg({ quality: 100 }).toBuffer();
    const a = await imageToPixels(rotated, captioner.model.manifest.image);
    const b = await imageToPixels(upright, captioner.model.manifest.image);
    let diff = 0;
    for (let k = 0; k < a.length; k++) diff += Math.abs(a[k]! - b[k]!);
    expect(diff / a.length).toBeLessThan(0.05);
    // A fully transparent image becomes the background colour (white: 1.0 after normalising).
    const clear = await sharp({
      create: { width: 20, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const white = await imageToPixels(clear, captioner.model.manifest.image);
    expect(white.every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
  });

  it.each([
    [
      () => captioner.caption(Buffer.from("not an image")),
      /UNSUPPORTED_IMAGE|Cannot decode the image/,
    ],
    [() => captioner.caption("/nonexistent/scene.png"), /\/nonexistent\/scene.png: file not found/],
    [
      () => captioner.caption(images[0]!, { maxTokens: 0 }),
      /Expected maxTokens to be an integer >= 1 but received 0/,
    ],
    [
      () => captioner.caption(images[0]!, { beams: 0 }),
      /Expected beams to be an integer in \[1, 16\] but received 0/,
    ],
    [
      () => captioner.caption(images[0]!, { beams: 2.5 }),
      /Expected beams to be an integer in \[1, 16\] but received 2.5/,
    ],
    [
      () => captioner.caption(images[0]!, { beams: 2, trace: true }),
      /trace is available with greedy decoding only/,
    ],
    [
      () => captioner.caption(images[0]!, { policy: { version: 1, rule: "final", numExits: 3 } }),
      /The policy is for 3 exits but the model has 6/,
    ],
  ])("rejects bad input clearly (%#)", async (call, message) => {
    await expect(call()).rejects.toThrow(message);
  });

  it("refuses images over the pixel limit before decoding them", async () => {
    const small = await Captioner.load(BUNDLE, { maxPixels: 10_000 });
    try {
      await expect(small.caption(images[0]!)).rejects.toMatchObject({ code: "IMAGE_TOO_LARGE" });
    } finally {
      await small.dispose();
    }
  });
});
