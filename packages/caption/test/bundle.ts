// The bundled caption model the tests run on (a real 6-layer decoder, about 16 MB).
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const BUNDLE =
  process.env.BEEM_CAPTION_MODEL ?? resolve(import.meta.dirname, "../../../models/caption-beem");
export const TJS_BUNDLE = `${BUNDLE}-tjs`;
export const bundlePresent = existsSync(resolve(BUNDLE, "manifest.json"));
if (!bundlePresent) console.warn(`SKIPPED caption runtime tests: no bundle at ${BUNDLE}`);
