// The bundled caption model the tests run on (a real 6-layer decoder, about 16 MB).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { inject } from "vitest";
import type { Policy } from "@beem-ts/core";
import { generateScene, renderScene } from "@beem-ts/scenes";

export const BUNDLE =
  process.env.BEEM_CAPTION_MODEL ?? resolve(import.meta.dirname, "../../../models/caption-beem");
/**
 * transformers.js' layout of the scene captioner, made from the bundle's graphs before the tests
 * (test/global-setup.ts); "" when it could not be made (no Python with onnx) or for another
 * bundle.
 */
export const TJS_BUNDLE =
  process.env.BEEM_CAPTION_MODEL === undefined ? inject("tjsCaptionBeem") : "";
export const bundlePresent = existsSync(resolve(BUNDLE, "manifest.json"));
if (!bundlePresent) console.warn(`SKIPPED caption runtime tests: no bundle at ${BUNDLE}`);

/** golden.json: PyTorch's greedy full-depth tokens for some validation scenes. */
export interface Golden {
  readonly scenes: string[];
  readonly tokens: number[][];
}

/** The golden scenes rendered as the images PyTorch captioned, with their tokens. */
export async function goldenScenes(): Promise<{ golden: Golden; images: Buffer[] }> {
  const golden = JSON.parse(readFileSync(join(BUNDLE, "golden.json"), "utf8")) as Golden;
  const images = await Promise.all(
    golden.scenes.map((id) => {
      const [seed, index] = id.split("-").map(Number) as [number, number];
      return renderScene(generateScene(seed, index));
    }),
  );
  return { golden, images };
}

/** A BEEM policy that never stops early: every threshold at infinity. */
export function closedPolicy(numExits: number): Policy {
  return {
    version: 1,
    rule: "beem",
    weighting: "explicit",
    numExits,
    weights: Array<number>(numExits).fill(1),
    reset: "current",
    thresholds: Array<null>(numExits - 1).fill(null),
  };
}
