// transformers.js' layout of a caption bundle's weights (encoder_model.onnx,
// decoder_model_merged.onnx and its configs), built by training/common/export_tjs.py from the
// bundle's own graphs into a cache, so that caption-eval and caption-sweep can time
// transformers.js' image-to-text pipeline on the same weights without a committed copy.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./cli-error.js";
import { REPO_ROOT } from "./models.js";
import { python } from "./python.js";

export interface TransformersJsExportOptions {
  /** Where exports are kept (default $XDG_CACHE_HOME/beem/tjs, else ~/.cache/beem/tjs). */
  readonly cacheDir?: string;
}

/** The cache folder of transformers.js exports. */
export function tjsCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "beem", "tjs");
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
 * UsageError naming the problem when it cannot be made (no Python or onnx, a bundle that
 * transformers.js cannot run).
 */
export async function transformersJsExport(
  bundleDir: string,
  options: TransformersJsExportOptions = {},
): Promise<string> {
  const manifestPath = join(bundleDir, "manifest.json");
  if (!existsSync(manifestPath)) throw new UsageError(`${manifestPath}: not found`);
  const { id } = JSON.parse(readFileSync(manifestPath, "utf8")) as { id: string };
  const dir = join(options.cacheDir ?? tjsCacheDir(), `${id}-${await bundleHash(bundleDir)}`);
  if (existsSync(join(dir, "onnx", "decoder_model_merged.onnx"))) return dir;
  const script = join(REPO_ROOT, "training", "common", "export_tjs.py");
  const r = spawnSync(python(), [script, bundleDir, dir], { encoding: "utf8" });
  if (r.error !== undefined)
    throw new UsageError(
      `transformers.js export needs Python (${python()}: ${r.error.message}); ` +
        "apt-get install -y python3 python3-onnx (Debian) or pip install onnx, or set PYTHON",
    );
  if (r.status !== 0) {
    const last = r.stderr.trim().split("\n").slice(-1)[0] ?? "";
    if (/No module named 'onnx'/.test(r.stderr))
      throw new UsageError(
        `transformers.js export needs the onnx Python package: apt-get install -y python3-onnx (Debian) or pip install onnx`,
      );
    throw new UsageError(`transformers.js export of ${bundleDir} failed: ${last}`);
  }
  return dir;
}

/**
 * The transformers.js export caption-eval and caption-sweep time: `--tjs DIR` as given, else the
 * bundle's export from the cache (made if needed). Undefined, with the reason on `note`, when it
 * cannot be made: the comparison is then left out rather than the whole run failing.
 */
export async function tjsDirFor(
  modelDir: string,
  given: string | undefined,
  note: (message: string) => void,
): Promise<string | undefined> {
  if (given !== undefined) {
    if (!existsSync(join(given, "onnx", "decoder_model_merged.onnx")))
      throw new UsageError(`--tjs ${given}: no onnx/decoder_model_merged.onnx there`);
    return given;
  }
  try {
    return await transformersJsExport(modelDir);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    note(`transformers.js comparison left out: ${error.message}\n`);
    return undefined;
  }
}
