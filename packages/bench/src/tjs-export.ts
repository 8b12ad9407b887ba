// transformers.js' layout of a caption bundle's weights (encoder_model.onnx,
// decoder_model_merged.onnx and its configs), built by training/common/export_tjs.py from the
// bundle's own graphs into a cache, so that evaluateCaptions and sweepCaptions can time
// transformers.js' image-to-text pipeline on the same weights without a committed copy.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BenchError } from "./errors.js";
import { REPO_ROOT, beemCacheDir, python } from "./tools.js";

export interface TransformersJsExportOptions {
  /** Where exports are kept (default $XDG_CACHE_HOME/beem/tjs, else ~/.cache/beem/tjs). */
  readonly cacheDir?: string;
}

/** The cache folder of transformers.js exports. */
export function tjsCacheDir(): string {
  return beemCacheDir("tjs");
}

/** sha256 of the files an export is made from: the manifest and every file it names. */
async function bundleHash(bundleDir: string): Promise<string> {
  const manifest = readFileSync(join(bundleDir, "manifest.json"));
  const m = JSON.parse(manifest.toString("utf8")) as {
    graphs: { encoder: { file: string }; fused?: { step?: string; crossKv?: string } };
    tokenizer: { file: string; config: string };
    weights?: string;
  };
  const files = [
    m.graphs.encoder.file,
    m.graphs.fused?.step,
    m.graphs.fused?.crossKv,
    m.tokenizer.file,
    m.tokenizer.config,
    m.weights,
  ].filter((f): f is string => f !== undefined);
  const hash = createHash("sha256").update(manifest);
  for (const file of files) {
    const path = join(bundleDir, file);
    if (!existsSync(path)) continue; // the export names what is missing
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * The folder of the bundle's transformers.js export: made on first use (a few seconds; needs
 * Python with the onnx package), then reused while the bundle's files are unchanged. Throws a
 * BenchError naming the problem when it cannot be made: FILE_NOT_FOUND (no manifest), else
 * TJS_EXPORT_FAILED (no Python or onnx, a bundle that transformers.js cannot run).
 */
export async function transformersJsExport(
  bundleDir: string,
  options: TransformersJsExportOptions = {},
): Promise<string> {
  const manifestPath = join(bundleDir, "manifest.json");
  if (!existsSync(manifestPath))
    throw new BenchError("FILE_NOT_FOUND", `${manifestPath}: not found`);
  const { id } = JSON.parse(readFileSync(manifestPath, "utf8")) as { id: string };
  const dir = join(options.cacheDir ?? tjsCacheDir(), `${id}-${await bundleHash(bundleDir)}`);
  if (isTransformersJsExport(dir)) return dir;
  const script = join(REPO_ROOT, "training", "common", "export_tjs.py");
  const r = spawnSync(python(), [script, bundleDir, dir], { encoding: "utf8" });
  if (r.error !== undefined)
    throw new BenchError(
      "TJS_EXPORT_FAILED",
      `transformers.js export needs Python (${python()}: ${r.error.message}); ` +
        "apt-get install -y python3 python3-onnx (Debian) or pip install onnx, or set PYTHON",
    );
  if (r.status !== 0) {
    const last = r.stderr.trim().split("\n").slice(-1)[0] ?? "";
    if (/No module named 'onnx'/.test(r.stderr))
      throw new BenchError(
        "TJS_EXPORT_FAILED",
        `transformers.js export needs the onnx Python package: apt-get install -y python3-onnx (Debian) or pip install onnx`,
      );
    throw new BenchError(
      "TJS_EXPORT_FAILED",
      `transformers.js export of ${bundleDir} failed: ${last}`,
    );
  }
  return dir;
}

/** Whether `dir` holds a transformers.js export (its onnx/decoder_model_merged.onnx). */
export function isTransformersJsExport(dir: string): boolean {
  return existsSync(join(dir, "onnx", "decoder_model_merged.onnx"));
}

export interface OptionalExportOptions extends TransformersJsExportOptions {
  /** Told why the export cannot be made, when it cannot. Default: nothing is told. */
  readonly onUnavailable?: (reason: string) => void;
}

/**
 * `transformersJsExport`, or undefined (the reason on `onUnavailable`) when it cannot be made:
 * a comparison with transformers.js is then left out rather than the whole run failing.
 */
export async function optionalTransformersJsExport(
  bundleDir: string,
  options: OptionalExportOptions = {},
): Promise<string | undefined> {
  try {
    return await transformersJsExport(bundleDir, options);
  } catch (error) {
    if (
      !(error instanceof BenchError) ||
      (error.code !== "TJS_EXPORT_FAILED" && error.code !== "FILE_NOT_FOUND")
    )
      throw error;
    options.onUnavailable?.(error.message);
    return undefined;
  }
}
