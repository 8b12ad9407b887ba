import { equalCosts, foldFixedCost } from "@beem-ts/core";
import type { TextManifest } from "./manifest.js";

/**
 * Per-exit costs for calibration: each layer with its exit head, the fixed cost (tokenisation,
 * embeddings) folded into exit 1, since every input pays it before exit 1. Equal when the
 * bundle has no measurements.
 */
export function exitCosts(manifest: Pick<TextManifest, "costs" | "numExits">): number[] {
  if (manifest.costs === undefined) return equalCosts(manifest.numExits);
  return foldFixedCost(manifest.costs.exits, manifest.costs.fixed);
}
