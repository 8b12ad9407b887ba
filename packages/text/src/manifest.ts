// The text bundle's manifest.json: the fields every bundle has (checked by @beem-ts/runtime)
// and the text classifier's own.
import { readManifest, type BundleManifest, type ManifestCheck } from "@beem-ts/runtime";

export type { ExitCosts } from "@beem-ts/runtime";

export interface GraphSpec {
  readonly file: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface TextManifest extends BundleManifest {
  readonly task: "text-classification";
  readonly labels: readonly string[];
  readonly hiddenSize: number;
  readonly tokenizer: { readonly file: string; readonly config: string; readonly padId: number };
  readonly graphs: {
    readonly embeddings: GraphSpec;
    readonly layers: readonly GraphSpec[];
    /**
     * Full depth in one graph: embeddings, every layer and only the last exit head
     * (`input_ids`, `attention_mask` in; `logits` out). Without it full depth runs layer by layer.
     */
    readonly fused?: GraphSpec;
  };
  readonly training?: unknown;
}

function checkGraph(check: ManifestCheck, field: string): void {
  check.file(`${field}.file`, ".onnx");
  check.that(
    Array.isArray(check.get(`${field}.inputs`)) && Array.isArray(check.get(`${field}.outputs`)),
    `fields "${field}.inputs" and "${field}.outputs" must be arrays`,
  );
}

/** Reads and checks DIR/manifest.json; errors name the file and the field. */
export async function readTextManifest(dir: string): Promise<TextManifest> {
  const { manifest: m, check } = await readManifest<TextManifest>(dir, "text-classification");
  check.that(
    Array.isArray(m.labels) && m.labels.length >= 2 && m.labels.every((l) => typeof l === "string"),
    `field "labels" must list at least 2 labels`,
  );
  check.integer("hiddenSize", 1);
  check.integer("tokenizer.padId", 0);
  check.that(typeof m.graphs === "object" && m.graphs !== null, `field "graphs" is missing`);
  checkGraph(check, "graphs.embeddings");
  check.list("graphs.layers", m.numExits, "layers");
  m.graphs.layers.forEach((_, i) => checkGraph(check, `graphs.layers[${i}]`));
  if (m.graphs.fused !== undefined) {
    checkGraph(check, "graphs.fused");
    check.that(
      m.graphs.fused.inputs.length === 2 && m.graphs.fused.outputs.length >= 1,
      `field "graphs.fused" must list 2 inputs (token ids, attention mask) and the logits output`,
    );
  }
  return m;
}
