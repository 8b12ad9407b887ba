// The caption bundle's manifest.json.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BeemError } from "@beem-ts/core";

export interface CaptionLayerFiles {
  /** One decoding step through the layer and its exit head. */
  readonly step: string;
  /** The layer's cross-attention keys/values from the image memory. */
  readonly crossKv: string;
  /** The layer's self-attention keys/values of given hidden states. */
  readonly kv: string;
  /**
   * The self-attention keys/values of every layer above this one for hidden states that exited
   * here, in one run (`key_{j}`, `value_{j}` for j above). Optional; absent for the last layer.
   */
  readonly fillAbove?: string;
}

/** Full depth as a conventional decoder runs it. */
export interface CaptionFusedFiles {
  /**
   * One decoding step through the embeddings, every layer and only the last exit head:
   * `input_ids`, `position_ids`, `past_key_{i}`, `past_value_{i}`, `cross_key_{i}`,
   * `cross_value_{i}` in; `logits`, `prediction`, `confidence`, `entropy`, `present_key_{i}`,
   * `present_value_{i}` out (i = 1..numExits).
   */
  readonly step: string;
  /** Every layer's cross-attention keys/values from the image memory: `cross_key_{i}`, ... */
  readonly crossKv: string;
}

export interface CaptionManifest {
  readonly format: "beem-bundle";
  readonly formatVersion: 1;
  readonly id: string;
  readonly task: "image-captioning";
  readonly numExits: number;
  readonly hiddenSize: number;
  readonly heads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly memoryLength: number;
  readonly maxLength: number;
  readonly tokens: { readonly pad: number; readonly bos: number; readonly eos: number };
  readonly image: {
    readonly size: number;
    readonly resize: "fill";
    readonly mean: readonly number[];
    readonly std: readonly number[];
    /** Colour transparent pixels are flattened onto. */
    readonly background: readonly number[];
  };
  readonly tokenizer: { readonly file: string; readonly config: string };
  readonly graphs: {
    readonly encoder: { readonly file: string };
    readonly embed: { readonly file: string };
    readonly layers: readonly CaptionLayerFiles[];
    /** Without it full depth runs layer by layer. */
    readonly fused?: CaptionFusedFiles;
    /**
     * Optional: `embed` and the first layer's `step` in one graph (`input_ids`, `position_ids`
     * in place of `hidden`), so that a token costs one run less.
     */
    readonly embedStep?: string;
  };
  /** The external-data file the graphs keep their weights in (informational). */
  readonly weights?: string;
  readonly costs?: {
    readonly unit: string;
    readonly measuredWith: string;
    readonly fixed: number;
    readonly exits: readonly number[];
  };
  readonly policy?: string;
  /** Per-token exit log of calibration scenes (summaries), relative to the bundle. */
  readonly calibrationLog?: string;
}

export async function readCaptionManifest(dir: string): Promise<CaptionManifest> {
  const path = join(dir, "manifest.json");
  let m: CaptionManifest;
  try {
    m = JSON.parse(await readFile(path, "utf8")) as CaptionManifest;
  } catch (cause) {
    throw new BeemError(
      "INVALID_BUNDLE",
      `${path}: cannot read the manifest (${(cause as Error).message})`,
      { cause },
    );
  }
  const fail = (message: string): never => {
    throw new BeemError("INVALID_BUNDLE", `${path}: ${message}`);
  };
  if (m.format !== "beem-bundle" || m.formatVersion !== 1)
    fail(`not a version 1 "beem-bundle" manifest`);
  if (m.task !== "image-captioning")
    fail(`field "task" must be "image-captioning" but is ${JSON.stringify(m.task)}`);
  for (const key of [
    "numExits",
    "hiddenSize",
    "heads",
    "headDim",
    "vocabSize",
    "memoryLength",
    "maxLength",
  ] as const) {
    if (!Number.isInteger(m[key]) || m[key] < 1) fail(`field "${key}" must be an integer >= 1`);
  }
  if (!Array.isArray(m.graphs?.layers) || m.graphs.layers.length !== m.numExits) {
    fail(`field "graphs.layers" must list ${m.numExits} layers`);
  }
  m.graphs.layers.forEach((l, i) => {
    for (const key of ["step", "crossKv", "kv"] as const)
      if (typeof l[key] !== "string") fail(`field "graphs.layers[${i}].${key}" must name a file`);
    if (l.fillAbove !== undefined && (typeof l.fillAbove !== "string" || i === m.numExits - 1))
      fail(`field "graphs.layers[${i}].fillAbove" must name a file, and not for the last layer`);
  });
  if (m.graphs.embedStep !== undefined && typeof m.graphs.embedStep !== "string")
    fail(`field "graphs.embedStep" must name a file`);
  const fused = m.graphs.fused;
  if (fused !== undefined && (typeof fused.step !== "string" || typeof fused.crossKv !== "string"))
    fail(`field "graphs.fused" must name a "step" and a "crossKv" file`);
  if (!(m.image?.size >= 8) || m.image.mean?.length !== 3 || m.image.std?.length !== 3) {
    fail(`field "image" must give size, mean[3] and std[3]`);
  }
  return m;
}
