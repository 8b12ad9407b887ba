// The bundled photo captioner (models/photo-caption): its MobileNetV2 encoder against the TFLite
// reference, its captions against PyTorch's, and every odd image through its preprocessing.
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ort } from "@beem-ts/runtime";
import { createDecider } from "@beem-ts/core";
import {
  Captioner,
  ImageMemory,
  SequenceCache,
  decodeBeams,
  fillPending,
  imageToPixels,
} from "../src/index.js";
import { closedPolicy } from "./bundle.js";
import { PHOTO_BUNDLE, REFERENCE, photoBundlePresent, type Reference } from "./photo-bundle.js";

/**
 * Largest difference allowed between the float network's scores and the quantised reference's,
 * in output quantisation steps (1/256). The float network skips the reference's rounding of
 * every activation to 8 bits, so its scores drift from the reference's by a few steps where a
 * photo's top classes are close (measured: see training/mobilenet/README.md).
 */
const MAX_STEPS = 16;

describe.runIf(photoBundlePresent)("the photo captioner", () => {
  let captioner: Captioner;
  let reference: Reference;
  beforeAll(async () => {
    captioner = await Captioner.load(PHOTO_BUNDLE);
    reference = JSON.parse(await readFile(join(REFERENCE, "reference.json"), "utf8")) as Reference;
  });
  afterAll(() => captioner.dispose());

  it("its encoder, with its ImageNet head, gives the TFLite reference's top-1 on all twelve photos", async () => {
    const { manifest } = captioner.model;
    const graph = manifest.graphs.imageClassifier!;
    const labels = (await readFile(join(PHOTO_BUNDLE, graph.labels), "utf8")).split("\n");
    const session = await ort.InferenceSession.create(join(PHOTO_BUNDLE, graph.file));
    try {
      const s = manifest.image.size;
      let worst = 0;
      for (const photo of reference.photos) {
        // The reference's own 224 x 224 input: not resampled again, the same pixels.
        const pixels = await imageToPixels(join(REFERENCE, photo.png), manifest.image);
        const out = await session.run({
          pixel_values: new ort.Tensor("float32", pixels, [1, 3, s, s]),
        });
        const scores = out.scores!.data as Float32Array;
        const top = scores.indexOf(Math.max(...scores));
        // imagenet_labels.txt lists every name of a class; the reference gives the first.
        expect(labels[top]!.split(",")[0], photo.name).toBe(photo.top3[0]!.label);
        for (let i = 0; i < scores.length; i++) {
          const steps = Math.abs(scores[i]! / reference.output.scale - photo.scores[i]!);
          worst = Math.max(worst, steps);
        }
      }
      expect(worst).toBeLessThanOrEqual(MAX_STEPS);
    } finally {
      await session.release();
    }
  });

  it("captions the reference photos as PyTorch does at full depth, fused and layer by layer", async () => {
    const golden = JSON.parse(await readFile(join(PHOTO_BUNDLE, "golden.json"), "utf8")) as {
      photos: string[];
      tokens: number[][];
    };
    const closed = closedPolicy(captioner.numExits);
    // PyTorch's greedy decoding has no repetition limits; the graphs are compared without them.
    const free = { noRepeatNgram: 0, maxRun: 0 };
    for (const [i, name] of golden.photos.entries()) {
      const image = join(REFERENCE, name);
      const ids = (r: { tokens: readonly { id: number }[] }) => r.tokens.map((t) => t.id);
      expect(ids(await captioner.caption(image, { full: true, ...free })), name).toEqual(
        golden.tokens[i],
      );
      expect(
        ids(await captioner.caption(image, { full: true, layerByLayer: true, ...free })),
      ).toEqual(golden.tokens[i]);
      // Early exit with every threshold at infinity is full depth.
      expect(ids(await captioner.caption(image, { policy: closed, ...free }))).toEqual(
        golden.tokens[i],
      );
    }
  });

  it("repetition limits hold at full depth (fused and layer by layer) and with early exit alike", async () => {
    // The strictest limits (no token twice) change most captions ("a" comes back), so that the
    // same replacement has to happen in the fused graph's loop and the layer-by-layer one.
    const limits = { noRepeatNgram: 1, maxRun: 1 };
    const closed = closedPolicy(captioner.numExits);
    const ids = (r: { tokens: readonly { id: number }[] }) => r.tokens.map((t) => t.id);
    let changed = 0;
    for (const name of ["pets.png", "hot_dog.png", "dragonfly.png", "face.png"]) {
      const image = join(REFERENCE, name);
      const free = ids(await captioner.caption(image, { full: true }));
      const fusedResult = await captioner.caption(image, { full: true, ...limits });
      const fused = ids(fusedResult);
      expect(new Set(fused).size, name).toBe(fused.length);
      const layered = await captioner.caption(image, { full: true, layerByLayer: true, ...limits });
      expect(ids(layered)).toEqual(fused);
      // A replaced token's confidence is its own probability, the same in both loops.
      layered.tokens.forEach((t, i) =>
        expect(t.confidence).toBeCloseTo(fusedResult.tokens[i]!.confidence, 4),
      );
      expect(ids(await captioner.caption(image, { policy: closed, ...limits }))).toEqual(fused);
      const early = ids(await captioner.caption(image, limits));
      expect(new Set(early).size, name).toBe(early.length);
      if (fused.join() !== free.join()) changed++;
    }
    expect(changed).toBeGreaterThan(0);
    await expect(
      captioner.caption(join(REFERENCE, "pets.png"), { maxRun: -1 }),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/maxRun/),
    });
  });

  it("its fillAbove graphs fill a skipped layer from the bundle's fill map where it has one", async () => {
    // Layer j's keys/values of a token that exited at e: those of the map's prediction of layer
    // j's input (graphs.fillMaps), or of the exit's hidden state copied upwards where no map is.
    const m = captioner.model;
    const maps = m.manifest.graphs.fillMaps ?? [];
    expect(maps.length).toBeGreaterThan(0);
    const { hiddenSize, numExits } = m.manifest;
    const hidden = new ort.Tensor(
      "float32",
      Float32Array.from({ length: 3 * hiddenSize }, (_, i) => Math.sin(i * 0.37) * 2),
      [1, 3, hiddenSize],
    );
    const open = (file: string) => ort.InferenceSession.create(join(PHOTO_BUNDLE, file));
    const close = (a: ort.Tensor, b: ort.Tensor) => {
      expect(a.dims).toEqual(b.dims);
      const x = a.data as Float32Array;
      const y = b.data as Float32Array;
      return x.every((v, i) => Math.abs(v - y[i]!) <= 1e-4);
    };
    let mapped = 0;
    for (let exit = 1; exit < numExits; exit++) {
      const filled = await m.fillAbove(exit - 1, hidden);
      for (let layer = exit + 1; layer <= numExits; layer++) {
        const map = maps.find((f) => f.exit === exit && f.layer === layer);
        let input: ort.Tensor = hidden;
        if (map !== undefined) {
          const session = await open(map.file);
          input = (await session.run({ hidden })).hidden_in!;
          await session.release();
          mapped++;
        }
        const kv = await open(m.manifest.graphs.layers[layer - 1]!.kv);
        const expected = await kv.run({ hidden: input });
        const copied = await kv.run({ hidden });
        await kv.release();
        const got = filled[layer - exit - 1]!;
        expect(close(got.key, expected.key!), `exit ${exit}, layer ${layer}`).toBe(true);
        expect(close(got.value, expected.value!)).toBe(true);
        // A map changes what the copy would give.
        expect(close(got.key, copied.key!)).toBe(map === undefined);
      }
    }
    expect(mapped).toBe(maps.length);
  });

  it("fills each waiting position from its own exit layer when a later token reaches them", async () => {
    // Positions that exited at layers 4, 1 and 2 (in that order) wait together; the next token
    // to reach layer 2 fills all three everywhere they are pending. Each must get what its own
    // exit layer's fillAbove graph gives (with fill maps, another exit's graph gives other
    // keys/values), in position order.
    const m = captioner.model;
    const { hiddenSize, memoryLength, numExits } = m.manifest;
    const memory = new ort.Tensor("float32", new Float32Array(memoryLength * hiddenSize), [
      1,
      memoryLength,
      hiddenSize,
    ]);
    const cache = SequenceCache.start(m, new ImageMemory(memory, numExits));
    const exits = [3, 0, 1];
    const hidden = exits.map((_, p) =>
      Float32Array.from({ length: hiddenSize }, (_, i) => Math.cos(i * 0.11 + p) * 2),
    );
    exits.forEach((e, p) => cache.skipAbove(e, hidden[p]!));
    await fillPending(m, 1, [cache]);
    for (let j = 1; j < numExits; j++) {
      const waiting = exits.flatMap((e, p) => (e < j ? [p] : []));
      const past = cache.pastAt(j);
      expect(past.key.dims[2]).toBe(waiting.length);
      for (const [at, p] of waiting.entries()) {
        const alone = await m.fillAbove(
          exits[p]!,
          new ort.Tensor("float32", hidden[p]!, [1, 1, hiddenSize]),
        );
        const want = alone[j - exits[p]! - 1]!.key.data as Float32Array;
        const got = selectPosition(past.key, at);
        expect(
          got.every((v, i) => Math.abs(v - want[i]!) <= 1e-4),
          `layer ${j + 1}, position ${p}`,
        ).toBe(true);
      }
    }
  });

  it.each(["eager", "deferred"] as const)(
    "fills skipped layers %s through each token's own exit layer, as the other strategy does",
    async (fill) => {
      // An eager policy sends tokens out at several layers, so that positions which exited at
      // different layers wait together for the deferred fill: each needs its own exit's maps.
      const policy = await captioner.policyFor({ rule: "beem-a", lambda: 0.3 });
      const other = fill === "eager" ? "deferred" : "eager";
      let mixed = 0;
      for (const photo of reference.photos) {
        const image = join(REFERENCE, photo.png);
        const a = await captioner.caption(image, { policy, fill });
        const b = await captioner.caption(image, { policy, fill: other });
        expect(
          a.tokens.map((t) => [t.id, t.exitLayer]),
          photo.name,
        ).toEqual(b.tokens.map((t) => [t.id, t.exitLayer]));
        const layers = a.tokens.map((t) => t.exitLayer);
        if (
          layers.some((l, i) => i > 0 && l < layers[i - 1]! && layers[i - 1]! < captioner.numExits)
        )
          mixed++;
      }
      expect(mixed).toBeGreaterThan(0);
    },
  );

  it("beam search keeps the repetition limits, and with one beam decodes as greedy does", async () => {
    const limits = { noRepeatNgram: 1, maxRun: 1 };
    const none = { noRepeatNgram: 0, maxRun: 0 };
    const ids = (r: { tokens: readonly { id: number }[] }) => r.tokens.map((t) => t.id);
    const m = captioner.model;
    let repeatedWithout = 0;
    for (const name of ["pets.png", "hot_dog.png", "dragonfly.png", "face.png"]) {
      const image = join(REFERENCE, name);
      const pixels = await imageToPixels(image, m.manifest.image);
      for (const full of [true, false]) {
        const free = ids(await captioner.caption(image, { full, beams: 3, ...none }));
        if (new Set(free).size < free.length) repeatedWithout++;
        const beam = ids(await captioner.caption(image, { full, beams: 3, ...limits }));
        expect(new Set(beam).size, `${name}, full ${full}`).toBe(beam.length);
        // decodeBeams itself (the captioner decodes one beam greedily) against greedy decoding.
        const policy = full
          ? { version: 1 as const, rule: "final" as const, numExits: m.numExits }
          : captioner.defaultPolicy;
        const start = SequenceCache.start(m, new ImageMemory(await m.encode([pixels]), m.numExits));
        const one = await decodeBeams(m, start, createDecider(policy), {
          beams: 1,
          maxTokens: m.manifest.maxLength - 1,
          ...limits,
        });
        const greedy = await captioner.caption(image, { full, layerByLayer: true, ...limits });
        // (A caption's tokens leave out the end token that decodeBeams' tokens end with.)
        const words = one.tokens.filter((t) => !t.end);
        expect(ids({ tokens: words }), `${name}, full ${full}`).toEqual(ids(greedy));
        words.forEach((t, i) => {
          expect(t.exitLayer).toBe(greedy.tokens[i]!.exitLayer);
          expect(t.confidence).toBeCloseTo(greedy.tokens[i]!.confidence, 4);
        });
      }
    }
    // Without limits, beam search repeats a word ("a") in some captions: the limits did work.
    expect(repeatedWithout).toBeGreaterThan(0);
  });

  it("describes a photo in words, exits early at its default policy, and ends its captions", async () => {
    const r = await captioner.caption(join(REFERENCE, "pets.png"));
    expect(r.text).toMatch(/\bdogs?\b/);
    expect(r.meanExitLayer).toBeLessThan(captioner.numExits);
    expect(r.exitLayers.length).toBe(r.tokens.length + 1); // the end token's layer last
  });

  describe("odd images through the photo preprocessing", () => {
    let photo: Buffer;
    beforeAll(async () => {
      photo = await sharp(join(REFERENCE, "pets.png")).jpeg().toBuffer();
    });
    const cases: [string, () => Promise<Buffer>][] = [
      ["a CMYK JPEG", () => sharp(photo).toColourspace("cmyk").jpeg().toBuffer()],
      ["a greyscale PNG", () => sharp(photo).greyscale().png().toBuffer()],
      ["a 16-bit PNG", () => sharp(photo).toColourspace("rgb16").png().toBuffer()],
      ["a PNG with alpha", () => sharp(photo).ensureAlpha(0.5).png().toBuffer()],
      [
        "an EXIF-rotated JPEG",
        () => sharp(photo).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toBuffer(),
      ],
      [
        "a 1 x 1 image",
        () =>
          sharp({ create: { width: 1, height: 1, channels: 3, background: "#808080" } })
            .png()
            .toBuffer(),
      ],
      [
        "a 10000 x 3 image",
        () =>
          sharp({ create: { width: 10000, height: 3, channels: 3, background: "#3060c0" } })
            .png()
            .toBuffer(),
      ],
    ];
    it.each(cases)("captions %s", async (_, make) => {
      const r = await captioner.caption(await make());
      expect(r.tokens.length).toBeGreaterThan(0);
      expect(r.text.length).toBeGreaterThan(0);
    });

    it("refuses a truncated JPEG and a decompression bomb with clear errors", async () => {
      await expect(captioner.caption(photo.subarray(0, photo.length >> 1))).rejects.toMatchObject({
        code: "UNSUPPORTED_IMAGE",
      });
      const bomb = await sharp({
        create: { width: 12000, height: 12000, channels: 3, background: "#000000" },
      })
        .png({ compressionLevel: 9 })
        .toBuffer();
      await expect(captioner.caption(bomb)).rejects.toMatchObject({ code: "IMAGE_TOO_LARGE" });
    });

    it("reads a path itself: missing, a folder or a FIFO named by what is wrong, never a hang", async () => {
      const dir = await mkdtemp(join(tmpdir(), "beem-photo-paths-"));
      try {
        await writeFile(join(dir, "photo.jpg"), photo);
        const fromPath = await imageToPixels(
          join(dir, "photo.jpg"),
          captioner.model.manifest.image,
        );
        const fromBytes = await imageToPixels(photo, captioner.model.manifest.image);
        expect(fromPath).toEqual(fromBytes);
        await expect(captioner.caption(join(dir, "gone.jpg"))).rejects.toMatchObject({
          code: "FILE_NOT_FOUND",
          message: `${join(dir, "gone.jpg")}: file not found`,
        });
        await expect(captioner.caption(join(dir, "photo.jpg", "x.jpg"))).rejects.toMatchObject({
          code: "FILE_NOT_FOUND",
        });
        await expect(captioner.caption(dir)).rejects.toMatchObject({
          code: "UNSUPPORTED_IMAGE",
          message: `${dir}: not an image file (a folder)`,
        });
        const fifo = join(dir, "pipe.jpg");
        expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
        await expect(captioner.caption(fifo)).rejects.toMatchObject({
          code: "UNSUPPORTED_IMAGE",
          message: `${fifo}: not an image file (a FIFO)`,
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

describe.runIf(photoBundlePresent)("a photo bundle's preprocessing fields", () => {
  let dir: string;
  let manifest: Record<string, unknown>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "beem-photo-manifest-"));
    for (const file of await readdir(PHOTO_BUNDLE))
      if (file !== "manifest.json") await symlink(resolve(PHOTO_BUNDLE, file), join(dir, file));
    manifest = JSON.parse(await readFile(join(PHOTO_BUNDLE, "manifest.json"), "utf8"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const image = (change: (image: Record<string, unknown>) => void) => {
    const copy = structuredClone(manifest) as { image: Record<string, unknown> };
    change(copy.image);
    return copy;
  };
  const currentMaps = () => (manifest.graphs as { fillMaps: unknown[] }).fillMaps;
  const fillMaps = (maps: unknown) => {
    const copy = structuredClone(manifest) as { graphs: Record<string, unknown> };
    copy.graphs.fillMaps = maps;
    return copy;
  };
  it.each([
    ["missing", () => ({ ...manifest, image: undefined }), /field "image" must be an object/],
    ["without a size", () => image((i) => delete i.size), /field "image.size" must be an integer/],
    ["without a mean", () => image((i) => delete i.mean), /field "image.mean" must list 3/],
    [
      "with an unknown resampling",
      () => image((i) => (i.resample = "nearest")),
      /field "image.resample" must be one of bilinear, bicubic, lanczos/,
    ],
    [
      "with an unknown resize",
      () => image((i) => (i.resize = "cover")),
      /field "image.resize" must be "fill"/,
    ],
    [
      "with preprocessing the runtime does not know",
      () => image((i) => (i.centerCrop = 0.875)),
      /field "image.centerCrop" is not preprocessing this runtime knows/,
    ],
    [
      "with a decoding setting the runtime does not know",
      () => ({ ...manifest, generation: { temperature: 1 } }),
      /field "generation.temperature" is not a decoding setting this runtime knows \(noRepeatNgram, maxRun\)/,
    ],
    [
      "with a negative noRepeatNgram",
      () => ({ ...manifest, generation: { noRepeatNgram: -1 } }),
      /field "generation.noRepeatNgram" must be an integer >= 0/,
    ],
    [
      "with a fill map for the layer right above its exit",
      () => fillMaps([{ exit: 2, layer: 3, file: "kv_3.onnx" }]),
      /field "graphs.fillMaps\[0\]" must map an exit to a layer it skips above the next \(exit \+ 2 <= layer <= 6\) but maps exit 2 to layer 3/,
    ],
    [
      "with a fill map beyond the last layer",
      () => fillMaps([{ exit: 5, layer: 7, file: "kv_3.onnx" }]),
      /field "graphs.fillMaps\[0\]" must map an exit to a layer it skips/,
    ],
    [
      "with a fill map twice",
      () => fillMaps([...currentMaps(), currentMaps()[0]]),
      /field "graphs.fillMaps\[\d+\]" repeats exit 1, layer 3/,
    ],
    [
      "with fill maps but a layer without fillAbove",
      () => {
        const copy = structuredClone(manifest) as { graphs: { layers: Record<string, unknown>[] } };
        delete copy.graphs.layers[3]!.fillAbove;
        return copy;
      },
      /field "graphs.fillMaps" needs "graphs.layers\[3\].fillAbove"/,
    ],
    [
      "with fill maps that are not an array",
      () => fillMaps({ exit: 1 }),
      /field "graphs.fillMaps" must be an array/,
    ],
    [
      "with generation that is not an object",
      () => ({ ...manifest, generation: null }),
      /field "generation" must be an object/,
    ],
  ])("is refused, naming the field, %s", async (_, make, message) => {
    await writeFile(join(dir, "manifest.json"), JSON.stringify(make()));
    const error = await Captioner.load(dir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_BUNDLE" });
    expect((error as Error).message).toMatch(message);
  });

  it("its decoding settings are the captioner's defaults, which options override", async () => {
    const limits = { noRepeatNgram: 1, maxRun: 1 };
    await writeFile(
      join(dir, "manifest.json"),
      JSON.stringify({ ...manifest, generation: limits }),
    );
    const limited = await Captioner.load(dir);
    const plain = await Captioner.load(PHOTO_BUNDLE);
    try {
      const photo = join(REFERENCE, "hot_dog.png");
      const text = async (c: Captioner, options = {}) => (await c.caption(photo, options)).text;
      expect(await text(limited)).toBe(await text(plain, limits));
      expect(await text(limited)).not.toBe(await text(plain));
      expect(await text(limited, { noRepeatNgram: 0, maxRun: 0 })).toBe(await text(plain));
    } finally {
      await Promise.all([limited.dispose(), plain.dispose()]);
    }
  });

  it("its calibration log labels each token with the last exit's own token, before the limits", async () => {
    // No token twice: "a" comes back in every caption, so the limits replace some of the last
    // exit's tokens. The label stays what the last exit said, as each exit's prediction is.
    const limits = { noRepeatNgram: 1, maxRun: 1 };
    await writeFile(
      join(dir, "manifest.json"),
      JSON.stringify({ ...manifest, generation: limits }),
    );
    const limited = await Captioner.load(dir);
    try {
      const photo = join(REFERENCE, "hot_dog.png");
      const log = await limited.exitLog([photo]);
      const last = log.map((s) => s.summaries.at(-1)!.prediction);
      expect(log.map((s) => s.label)).toEqual(last);
      // The log follows the limited caption: it has the caption's length, end token included, and
      // where the limits replaced a token, the caption holds another one than the label.
      const caption = await limited.caption(photo, { full: true });
      expect(log.length).toBe(caption.tokens.length + 1);
      const replaced = caption.tokens.filter((t, i) => t.id !== last[i]).length;
      expect(replaced).toBeGreaterThan(0);
    } finally {
      await limited.dispose();
    }
  });
});

/** One position's keys (or values) of a [1, H, T, Dh] tensor, heads one after another. */
function selectPosition(t: ort.Tensor, at: number): Float32Array {
  const [, heads, positions, dh] = t.dims as [number, number, number, number];
  const x = t.data as Float32Array;
  const out = new Float32Array(heads * dh);
  for (let h = 0; h < heads; h++)
    out.set(x.subarray((h * positions + at) * dh, (h * positions + at + 1) * dh), h * dh);
  return out;
}
