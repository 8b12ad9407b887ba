// pnpm export:tjs [BUNDLE]: a caption bundle in transformers.js' layout (encoder_model.onnx,
// decoder_model_merged.onnx and its configs), made from the bundle's own graphs into the cache
// that caption-eval and caption-sweep use; prints the folder, ready for transformers.js:
//   env.localModelPath = dirname(folder); pipeline("image-to-text", basename(folder))
import { resolve } from "node:path";
import { transformersJsExport } from "@beem-ts/bench";

const bundle = resolve(process.argv[2] ?? resolve(import.meta.dirname, "../models/photo-caption"));
try {
  console.log(await transformersJsExport(bundle));
} catch (error) {
  console.error(`export:tjs: ${(error as Error).message}`);
  process.exit(1);
}
