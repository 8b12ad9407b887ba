// The caption bundle's manifest.json: the fields every bundle has (checked by @beem-ts/runtime)
// and the captioner's own.
import { readManifest, type BundleManifest } from "@beem-ts/runtime";

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
  /**
   * A JSON array of the token ids this layer's exit head scores (a shortlist head: its logits
   * follow that order, and its summary's prediction is already a token id). Absent: the head
   * scores the whole vocabulary.
   */
  readonly shortlist?: string;
}

/** A learned fill: see `CaptionManifest.graphs.fillMaps`. */
export interface CaptionFillMap {
  readonly exit: number;
  readonly layer: number;
  readonly file: string;
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

export interface CaptionManifest extends BundleManifest {
  readonly task: "image-captioning";
  readonly hiddenSize: number;
  readonly heads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly memoryLength: number;
  readonly tokens: { readonly pad: number; readonly bos: number; readonly eos: number };
  readonly image: {
    readonly size: number;
    readonly resize: "fill";
    /**
     * How the image is resampled to `size` (sharp's kernels: "bilinear" is its linear kernel,
     * "bicubic" its cubic, "lanczos" lanczos3). Default "lanczos".
     */
    readonly resample?: "bilinear" | "bicubic" | "lanczos";
    readonly mean: readonly number[];
    readonly std: readonly number[];
    /** Colour transparent pixels are flattened onto. */
    readonly background: readonly number[];
  };
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
    /**
     * Optional, not run by the captioner: the encoder's pretrained backbone with its own
     * classification head (`pixel_values` in, `scores` out), and its label names one per line,
     * so that a converted encoder can be checked against its reference.
     */
    readonly imageClassifier?: { readonly file: string; readonly labels: string };
    /**
     * Optional, not run by the captioner: learned fills of the layers a token skips. Each maps
     * the hidden state of a token that exited at `exit` to its predicted input of layer `layer`
     * (1-based, layer >= exit + 2; `hidden` in, `hidden_in` out), and the `fillAbove` graph of
     * `exit` has it built in. Pairs without one copy the hidden state upwards. Because a token's
     * skipped layers then depend on where it exited, the runtime fills them per exit layer.
     */
    readonly fillMaps?: readonly CaptionFillMap[];
  };
  /** The external-data file the graphs keep their weights in (informational). */
  readonly weights?: string;
  /** Decoding defaults (CaptionOptions override them). Optional. */
  readonly generation?: {
    /** No repeated n-grams of this size (0: off). Default 0. */
    readonly noRepeatNgram?: number;
    /** No token more than this many times in a row (0: no limit). Default 0. */
    readonly maxRun?: number;
  };
}

const RESAMPLE = ["bilinear", "bicubic", "lanczos"] as const;
const GENERATION_FIELDS = ["noRepeatNgram", "maxRun"];
const IMAGE_FIELDS = ["size", "resize", "resample", "mean", "std", "background"];

export async function readCaptionManifest(dir: string): Promise<CaptionManifest> {
  const { manifest: m, check } = await readManifest<CaptionManifest>(dir, "image-captioning");
  for (const key of ["hiddenSize", "heads", "headDim", "vocabSize", "memoryLength"])
    check.integer(key, 1);
  for (const key of ["pad", "bos", "eos"]) check.integer(`tokens.${key}`, 0);
  check.file("graphs.encoder.file", ".onnx");
  check.file("graphs.embed.file", ".onnx");
  check.list("graphs.layers", m.numExits, "layers");
  m.graphs.layers.forEach((l, i) => {
    for (const key of ["step", "crossKv", "kv"]) check.file(`graphs.layers[${i}].${key}`, ".onnx");
    check.that(
      l.fillAbove === undefined || i < m.numExits - 1,
      `field "graphs.layers[${i}].fillAbove" is for layers below the last`,
    );
    check.optionalFile(`graphs.layers[${i}].fillAbove`, ".onnx");
    check.optionalFile(`graphs.layers[${i}].shortlist`, ".json");
  });
  check.optionalFile("graphs.embedStep", ".onnx");
  if (m.graphs.fused !== undefined) {
    check.file("graphs.fused.step", ".onnx");
    check.file("graphs.fused.crossKv", ".onnx");
  }
  if (m.graphs.imageClassifier !== undefined) {
    check.file("graphs.imageClassifier.file", ".onnx");
    check.file("graphs.imageClassifier.labels");
  }
  if (m.graphs.fillMaps !== undefined) {
    check.that(Array.isArray(m.graphs.fillMaps), `field "graphs.fillMaps" must be an array`);
    const pairs = new Set<string>();
    m.graphs.fillMaps.forEach((_, i) => {
      const at = `graphs.fillMaps[${i}]`;
      const exit = check.integer(`${at}.exit`, 1);
      const layer = check.integer(`${at}.layer`, 1);
      check.that(
        exit + 2 <= layer && layer <= m.numExits,
        `field "${at}" must map an exit to a layer it skips above the next (exit + 2 <= layer <= ${m.numExits}) but maps exit ${exit} to layer ${layer}`,
      );
      check.that(
        !pairs.has(`${exit},${layer}`),
        `field "${at}" repeats exit ${exit}, layer ${layer}`,
      );
      pairs.add(`${exit},${layer}`);
      check.file(`${at}.file`, ".onnx");
    });
    // The maps live inside the fillAbove graphs, the only way the runtime then fills.
    const without = m.graphs.layers.slice(0, -1).findIndex((l) => l.fillAbove === undefined);
    check.that(
      m.graphs.fillMaps.length === 0 || without < 0,
      `field "graphs.fillMaps" needs "graphs.layers[${without}].fillAbove" (every layer below the last has one)`,
    );
  }
  // Preprocessing the runtime does not know would silently feed the encoder other pixels.
  check.that(
    typeof m.image === "object" && m.image !== null && !Array.isArray(m.image),
    `field "image" must be an object with the preprocessing (${IMAGE_FIELDS.join(", ")})`,
  );
  const unknown = Object.keys(m.image).filter((key) => !IMAGE_FIELDS.includes(key));
  check.that(
    unknown.length === 0,
    `field "image.${unknown[0]}" is not preprocessing this runtime knows (${IMAGE_FIELDS.join(", ")})`,
  );
  check.that(
    Number.isInteger(m.image.size) && m.image.size >= 8,
    `field "image.size" must be an integer >= 8`,
  );
  check.that(m.image.resize === "fill", `field "image.resize" must be "fill"`);
  check.that(
    m.image.resample === undefined || RESAMPLE.includes(m.image.resample),
    `field "image.resample" must be one of ${RESAMPLE.join(", ")}`,
  );
  check.numbers("image.mean", 3);
  check.numbers("image.std", 3, Number.MIN_VALUE);
  check.numbers("image.background", 3, 0);
  if (m.generation !== undefined) {
    check.that(
      typeof m.generation === "object" && m.generation !== null && !Array.isArray(m.generation),
      `field "generation" must be an object (${GENERATION_FIELDS.join(", ")})`,
    );
    for (const [key, value] of Object.entries(m.generation)) {
      check.that(
        GENERATION_FIELDS.includes(key),
        `field "generation.${key}" is not a decoding setting this runtime knows (${GENERATION_FIELDS.join(", ")})`,
      );
      check.that(
        Number.isInteger(value) && (value as number) >= 0,
        `field "generation.${key}" must be an integer >= 0`,
      );
    }
  }
  return m;
}
