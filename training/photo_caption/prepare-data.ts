// Flickr8k photos and captions into a cache the Python recipe reads fast.
//
//   DIR/photos.jsonl      one line per photo: file, split (train, calibration, dev, test), the
//                         five captions as written, as the words pycocoevalcap scores
//                         (`metricTokens`) and as word ids
//   DIR/text-ids.jsonl    the text-only captions as word ids (language-model pre-training)
//   DIR/tokenizer/        the word-level tokenizer the bundle ships (for decoding ids)
//   DIR/features-vK.f16   MobileNetV2's feature map (--backbone, export_backbone.py) of variant K
//                         of the photos data.json lists for it (N x 49 x 1280 float16, cells
//                         row-major, then channels): v0 every photo exactly as the runtime
//                         prepares it; v1-v5 train photos only: flipped, and cropped (a fixed
//                         crop per photo and variant)
//   DIR/data.json         what was made, with which settings
//
// Calibration photos are carved out of `train` by file name (every photo whose name's FNV-1a
// hash is 0 mod --calibration-mod), never by content; they are not trained on.
// Usage: tsx prepare-data.ts --data ../shared/data/captions/flickr8k-1k --out DIR
//   [--size 224] [--vocab-size 3072] [--calibration-mod 10]
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";
import { imageToPixels, metricTokens, type CaptionManifest } from "@beem-ts/caption";
import { buildPhotoTokenizer } from "./photo-tokenizer.js";
import { cellMajorFloat16 } from "./float16.js";
import { PHOTO_IMAGE_SPEC, VARIANTS, variantImage, type Variant } from "./variants.js";

/** Photos per run of the feature graph. */
const BATCH = 16;

const usage =
  "Usage: prepare-data.ts --data FLICKR8K_DIR --backbone backbone.onnx --out DIR [--size 224] [--vocab-size 3072] [--calibration-mod 10]";
const { values } = parseArgs({
  options: {
    data: { type: "string" },
    out: { type: "string" },
    backbone: { type: "string" },
    size: { type: "string", default: "224" },
    "vocab-size": { type: "string", default: "3072" },
    "calibration-mod": { type: "string", default: "10" },
  },
});
function integer(flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isInteger(n) || n < min)
    throw new Error(
      `Expected ${flag} to be an integer >= ${min} but received ${JSON.stringify(value)}\n${usage}`,
    );
  return n;
}
if (values.data === undefined || values.out === undefined || values.backbone === undefined)
  throw new Error(usage);
const size = integer("--size", values.size, 32);
const vocabSize = integer("--vocab-size", values["vocab-size"], 8);
const calibrationMod = integer("--calibration-mod", values["calibration-mod"], 2);
const data = resolve(values.data);
const out = resolve(values.out);
for (const file of ["captions.jsonl", "text-only-captions.txt"])
  if (!existsSync(join(data, file)))
    throw new Error(`${join(data, file)}: file not found (--data names the flickr8k-1k folder)`);

interface Row {
  readonly image: string;
  readonly split: string;
  readonly captions: readonly string[];
}
const rows = readFileSync(join(data, "captions.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l, n) => {
    const row = JSON.parse(l) as Row;
    if (!["train", "dev", "test"].includes(row.split) || row.captions.length !== 5)
      throw new Error(`${join(data, "captions.jsonl")}:${n + 1}: expected a split and 5 captions`);
    return row;
  });

/** FNV-1a of a string: a content-blind, stable way to pick calibration photos. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
const split = (row: Row) =>
  row.split === "train" && fnv1a(row.image) % calibrationMod === 0 ? "calibration" : row.split;

// The vocabulary: words of the training captions and the text-only captions.
const textOnly = readFileSync(join(data, "text-only-captions.txt"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "");
const trainingTexts = [
  ...rows.filter((r) => split(r) === "train").flatMap((r) => r.captions),
  ...textOnly,
];
const tokenizerDir = join(out, "tokenizer");
mkdirSync(out, { recursive: true });
const vocab = buildPhotoTokenizer(trainingTexts.map(metricTokens), tokenizerDir, { vocabSize });
const ids = new Map(vocab.map((w, i) => [w, i]));
const unk = ids.get("<unk>")!;
const encode = (caption: string) => metricTokens(caption).map((w) => ids.get(w) ?? unk);

writeFileSync(
  join(out, "text-ids.jsonl"),
  textOnly.map((t) => JSON.stringify(encode(t))).join("\n") + "\n",
);
writeFileSync(
  join(out, "photos.jsonl"),
  rows
    .map((r, index) =>
      JSON.stringify({
        index,
        file: r.image,
        split: split(r),
        captions: r.captions,
        words: r.captions.map(metricTokens),
        ids: r.captions.map(encode),
      }),
    )
    .join("\n") + "\n",
);

// Features: every variant's photos through the MobileNetV2 graph in onnxruntime-node. v0 goes
// through the runtime's own preprocessing (`imageToPixels`), so that training sees what the
// bundle's encoder will be fed; the augmented variants through the same resize after a crop
// and/or flip.
const spec: CaptionManifest["image"] = { ...PHOTO_IMAGE_SPEC, size };
const backbone = await ort.InferenceSession.create(resolve(values.backbone), {
  intraOpNumThreads: 2,
});
const started = Date.now();
const listed: Record<string, number[]> = {};
for (const variant of VARIANTS) {
  const photos = rows.flatMap((r, i) => (variant.k === 0 || split(r) === "train" ? [i] : []));
  listed[`v${variant.k}`] = photos;
  const path = join(out, `features-v${variant.k}.f16`);
  if (existsSync(path)) continue;
  const file = createWriteStream(path + ".tmp");
  for (let s = 0; s < photos.length; s += BATCH) {
    const batch = photos.slice(s, s + BATCH);
    const pixels = new Float32Array(batch.length * 3 * size * size);
    for (const [b, i] of batch.entries()) {
      const photo = join(data, rows[i]!.image);
      const x =
        variant.k === 0
          ? await imageToPixels(photo, spec)
          : normalise(await augmented(photo, rows[i]!.image, variant), spec);
      pixels.set(x, b * x.length);
    }
    const input = new ort.Tensor("float32", pixels, [batch.length, 3, size, size]);
    const { features } = await backbone.run({ pixel_values: input });
    const bytes = cellMajorFloat16(features!.data as Float32Array, features!.dims as number[]);
    if (!file.write(bytes)) await new Promise<void>((r) => file.once("drain", () => r()));
  }
  await new Promise<void>((r, reject) => file.end((e?: Error | null) => (e ? reject(e) : r())));
  renameSync(path + ".tmp", path);
  console.log(
    `variant ${variant.k} (${variant.name}): ${photos.length} photos, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}
await backbone.release();
writeFileSync(
  join(out, "data.json"),
  JSON.stringify(
    {
      source: data,
      image: spec,
      vocabSize,
      calibrationMod,
      splits: Object.fromEntries(
        ["train", "calibration", "dev", "test"].map((s) => [
          s,
          rows.filter((r) => split(r) === s).length,
        ]),
      ),
      textOnly: textOnly.length,
      variants: VARIANTS.map((v) => ({ ...v, photos: listed[`v${v.k}`] })),
    },
    null,
    1,
  ) + "\n",
);
console.log(`${vocab.length} tokens -> ${out}`);

/** A crop and/or flip of the photo, resized as the runtime resizes: S x S x 3 RGB bytes. */
async function augmented(path: string, name: string, variant: Variant): Promise<Buffer> {
  const image = await variantImage(path, name, variant);
  return image.resize(size, size, { fit: "fill", kernel: "linear" }).removeAlpha().raw().toBuffer();
}

/** RGB bytes (S x S x 3) to pixel_values (3 x S x S) as `imageToPixels` normalises them. */
function normalise(raw: Buffer, s: CaptionManifest["image"]): Float32Array {
  const plane = s.size * s.size;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++)
      out[c * plane + i] = (raw[i * 3 + c]! / 255 - s.mean[c]!) / s.std[c]!;
  return out;
}
