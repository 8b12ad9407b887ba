// The bundled text model the tests run on (a real 6-layer model, 22 MB).
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const BUNDLE =
  process.env.BEEM_TEXT_MODEL ?? resolve(import.meta.dirname, "../../../models/sst2-beem");
export const DEV = resolve(import.meta.dirname, "../../../../shared/data/text/sst2/dev.jsonl");
export const bundlePresent = existsSync(resolve(BUNDLE, "manifest.json"));
if (!bundlePresent) console.warn(`SKIPPED text runtime tests: no bundle at ${BUNDLE}`);
