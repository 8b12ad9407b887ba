// The bundled photo captioner the tests run on, and the MobileNetV2 reference figures (the
// TFLite model's outputs on the twelve Coral photos, training/mobilenet/reference).
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const PHOTO_BUNDLE =
  process.env.BEEM_PHOTO_CAPTION_MODEL ??
  resolve(import.meta.dirname, "../../../models/photo-caption");
export const REFERENCE = resolve(import.meta.dirname, "../../../training/mobilenet/reference");
export const photoBundlePresent = existsSync(resolve(PHOTO_BUNDLE, "manifest.json"));
if (!photoBundlePresent)
  console.warn(`SKIPPED photo captioner tests: no bundle at ${PHOTO_BUNDLE}`);

/** reference.json: the quantised TFLite model's outputs, as Arm NN computed them. */
export interface Reference {
  readonly output: { readonly scale: number; readonly zero_point: number };
  readonly photos: readonly {
    readonly name: string;
    /** The 224 x 224 input the reference saw, as a PNG beside reference.json. */
    readonly png: string;
    readonly top3: readonly {
      readonly index: number;
      readonly label: string;
      readonly score: number;
    }[];
    /** The 1,001 uint8 scores. */
    readonly scores: readonly number[];
  }[];
}
