// Images to the encoder's input with sharp: any format sharp reads (JPEG, PNG, WebP, GIF's
// first frame, TIFF, AVIF), EXIF orientation applied, alpha flattened, resized and normalised
// as the manifest says, with a pixel limit against decompression bombs.
import { readFile, stat } from "node:fs/promises";
import sharp from "sharp";
import { BeemError } from "@beem-ts/core";
import { kindOf } from "@beem-ts/runtime";
import type { CaptionManifest } from "./manifest.js";

/**
 * sharp's kernel for each resampling a manifest may name. PIL (which Hugging Face's image
 * processors use) widens its filters when it shrinks an image (antialiasing); sharp's kernels do
 * too, but the weights differ, so a resized image can differ from PIL's by a few levels per
 * pixel. An image already at the model's size is not resampled at all.
 */
const KERNELS = { bilinear: "linear", bicubic: "cubic", lanczos: "lanczos3" } as const;

/** Default largest input, in pixels (width x height): 40 megapixels. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface ImageOptions {
  /** Largest accepted width x height. Default 40 megapixels. */
  readonly maxPixels?: number;
}

/**
 * An image already decoded, resized and normalised for one model (`Captioner.prepare`), e.g. by
 * a server as each request arrives, before the request joins a batch.
 */
export class PreparedImage {
  /** pixel_values: 3 x size x size, channel-first, normalised. */
  readonly pixels: Float32Array;
  /** The preprocessing it went through (the manifest's `image`). */
  readonly spec: CaptionManifest["image"];

  constructor(pixels: Float32Array, spec: CaptionManifest["image"]) {
    this.pixels = pixels;
    this.spec = spec;
  }
}

/** Encoded image bytes, a path to read them from, or an image prepared for the model. */
export type ImageInput = Buffer | Uint8Array | string | PreparedImage;

/** The image as pixel_values: 3 x size x size, channel-first, normalised. */
export async function imageToPixels(
  input: ImageInput,
  spec: CaptionManifest["image"],
  options: ImageOptions = {},
): Promise<Float32Array> {
  if (input instanceof PreparedImage) {
    if (JSON.stringify(input.spec) !== JSON.stringify(spec))
      throw new BeemError(
        "INVALID_ARGUMENT",
        `The image was prepared for another model's input (${JSON.stringify(input.spec)}, this one takes ${JSON.stringify(spec)})`,
      );
    return input.pixels;
  }
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const size = spec.size;
  const bytes = typeof input === "string" ? await readImageFile(input) : input;
  let raw: Buffer;
  try {
    const image = sharp(bytes, { limitInputPixels: maxPixels, failOn: "error", pages: 1 });
    const [r, g, b] = spec.background;
    raw = await image
      .rotate()
      .flatten({ background: { r: r ?? 255, g: g ?? 255, b: b ?? 255 } })
      .resize(size, size, { fit: "fill", kernel: KERNELS[spec.resample ?? "lanczos"] })
      .removeAlpha()
      .raw()
      .toBuffer();
  } catch (cause) {
    const message = (cause as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new BeemError("IMAGE_TOO_LARGE", `The image has more than ${maxPixels} pixels`, {
        cause,
      });
    }
    throw new BeemError("UNSUPPORTED_IMAGE", `Cannot decode the image (${message})`, { cause });
  }
  const out = new Float32Array(3 * size * size);
  const plane = size * size;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++)
      out[c * plane + i] = (raw[i * 3 + c]! / 255 - spec.mean[c]!) / spec.std[c]!;
  }
  return out;
}

/**
 * An image file's bytes, read here rather than by sharp so that what is wrong with the path is
 * told by its errno, not guessed from sharp's message: missing (FILE_NOT_FOUND), or a folder,
 * FIFO or device (which would fail or be read forever) or unreadable (UNSUPPORTED_IMAGE).
 */
async function readImageFile(path: string): Promise<Buffer> {
  try {
    const stats = await stat(path);
    if (!stats.isFile())
      throw new BeemError("UNSUPPORTED_IMAGE", `${path}: not an image file (${kindOf(stats)})`);
    return await readFile(path);
  } catch (cause) {
    if (cause instanceof BeemError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new BeemError("FILE_NOT_FOUND", `${path}: file not found`, { cause });
    throw new BeemError("UNSUPPORTED_IMAGE", `${path}: cannot read the file (${code})`, { cause });
  }
}
