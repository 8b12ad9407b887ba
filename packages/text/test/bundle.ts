// The bundled text model the tests run on (a real 6-layer model, 22 MB).
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const BUNDLE =
  process.env.BEEM_TEXT_MODEL ?? resolve(import.meta.dirname, "../../../models/sst2-beem");
export const DEV = resolve(import.meta.dirname, "../../../../shared/data/text/sst2/dev.jsonl");
/** SST-2 dev is data outside the repository (../shared); tests that read it skip without it. */
export const devPresent = existsSync(DEV);
if (!devPresent) console.warn(`SKIPPED text tests that read SST-2 dev: no ${DEV}`);
export const bundlePresent = existsSync(resolve(BUNDLE, "manifest.json"));
if (!bundlePresent) console.warn(`SKIPPED text runtime tests: no bundle at ${BUNDLE}`);
