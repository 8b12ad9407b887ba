// The photo captioner's preprocessing and the augmented variants its features are cached for.
import sharp, { type Metadata, type Sharp } from "sharp";
import type { CaptionManifest } from "@beem-ts/caption";

/**
 * The encoder's input as the bundle's manifest states it: the whole photo stretched to 224 x 224
 * with sharp's linear kernel (the TFLite reference resizes with PIL's bilinear), RGB scaled as
 * the quantised MobileNetV2 takes it: (q - 128) / 128, i.e. mean = std = 128/255.
 */
export const PHOTO_IMAGE_SPEC: CaptionManifest["image"] = {
  size: 224,
  resize: "fill",
  resample: "bilinear",
  mean: [128 / 255, 128 / 255, 128 / 255],
  std: [128 / 255, 128 / 255, 128 / 255],
  background: [255, 255, 255],
};

export interface Variant {
  readonly k: number;
  readonly name: string;
  readonly flip: boolean;
  /** Side of the crop as a fraction of the photo's (none: the whole photo). */
  readonly crop?: number;
}

/** v0 is the photo as the runtime sees it; the others exist for training photos only. */
export const VARIANTS: readonly Variant[] = [
  { k: 0, name: "whole", flip: false },
  { k: 1, name: "whole, flipped", flip: true },
  { k: 2, name: "crop 0.85", flip: false, crop: 0.85 },
  { k: 3, name: "crop 0.85, flipped", flip: true, crop: 0.85 },
  { k: 4, name: "crop 0.7", flip: false, crop: 0.7 },
  { k: 5, name: "crop 0.7, flipped", flip: true, crop: 0.7 },
];

/** A seeded generator (mulberry32) so that every run crops the same way. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The crop of `variant` for the photo named `name` (W x H after orientation), if it crops. */
export function variantCrop(
  name: string,
  variant: Variant,
  width: number,
  height: number,
): { left: number; top: number; width: number; height: number } | undefined {
  if (variant.crop === undefined) return undefined;
  let seed = variant.k * 7919;
  for (let i = 0; i < name.length; i++) seed = Math.imul(seed ^ name.charCodeAt(i), 16777619);
  const next = random(seed);
  const w = Math.max(1, Math.round(width * variant.crop));
  const h = Math.max(1, Math.round(height * variant.crop));
  return {
    left: Math.floor(next() * (width - w + 1)),
    top: Math.floor(next() * (height - h + 1)),
    width: w,
    height: h,
  };
}

/**
 * Variant `variant` of the photo at `path` (named `name`, which seeds its crop), before any
 * resize: EXIF-oriented, flattened on white, cropped and/or mirrored.
 */
export async function variantImage(path: string, name: string, variant: Variant): Promise<Sharp> {
  const { width, height } = orient(await sharp(path).metadata());
  let image = sharp(path).rotate().flatten({ background: "#ffffff" });
  const crop = variantCrop(name, variant, width, height);
  if (crop !== undefined) image = image.extract(crop);
  if (variant.flip) image = image.flop();
  return image;
}

/** Width and height after EXIF orientation. */
function orient(m: Metadata): { width: number; height: number } {
  const turned = (m.orientation ?? 1) >= 5;
  return turned ? { width: m.height!, height: m.width! } : { width: m.width!, height: m.height! };
}
