// The model bundle's manifest.json: what the runtime needs to know about a multi-exit model.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bundleError } from "./errors.js";

export interface GraphSpec {
  readonly file: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface ExitCosts {
  /** What the numbers are: "ms", measured how. */
  readonly unit: string;
  readonly measuredWith: string;
  /** Cost paid by every input before exit 1 (tokenisation and embeddings). */
  readonly fixed: number;
  /** Cost of each layer with its exit head, exit 1 first. */
  readonly exits: readonly number[];
}

export interface TextManifest {
  readonly format: "beem-bundle";
  readonly formatVersion: 1;
  readonly id: string;
  readonly task: "text-classification";
  readonly labels: readonly string[];
  readonly numExits: number;
  readonly maxLength: number;
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
  readonly costs?: ExitCosts;
  /** Exit log of the calibration split (for fitting other rules and lambdas), relative to the bundle. */
  readonly calibrationLog?: string;
  /** Default policy file, relative to the bundle. */
  readonly policy?: string;
  readonly training?: unknown;
}

function check(condition: unknown, where: string, message: string): asserts condition {
  if (!condition) throw bundleError(`${where}: ${message}`);
}

function checkGraph(value: unknown, where: string): GraphSpec {
  const g = value as GraphSpec | undefined;
  check(typeof g === "object" && g !== null, where, "must be an object");
  check(
    typeof g.file === "string" && g.file.endsWith(".onnx"),
    where,
    `field "file" must name an .onnx file`,
  );
  check(
    Array.isArray(g.inputs) && Array.isArray(g.outputs),
    where,
    `fields "inputs" and "outputs" must be arrays`,
  );
  return g;
}

/** Reads and checks DIR/manifest.json; errors name the field. */
export async function readTextManifest(dir: string): Promise<TextManifest> {
  const path = join(dir, "manifest.json");
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw bundleError(`${path}: cannot read the manifest (${(cause as Error).message})`, cause);
  }
  const m = value as TextManifest;
  check(typeof m === "object" && m !== null, path, "must be a JSON object");
  check(m.format === "beem-bundle", path, `field "format" must be "beem-bundle"`);
  check(
    m.formatVersion === 1,
    path,
    `field "formatVersion" ${String(m.formatVersion)} is not supported (1 is)`,
  );
  check(
    m.task === "text-classification",
    path,
    `field "task" must be "text-classification" but is ${JSON.stringify(m.task)}`,
  );
  check(
    Array.isArray(m.labels) && m.labels.length >= 2,
    path,
    `field "labels" must list at least 2 labels`,
  );
  check(
    Number.isInteger(m.numExits) && m.numExits >= 1,
    path,
    `field "numExits" must be an integer >= 1`,
  );
  check(
    Number.isInteger(m.maxLength) && m.maxLength >= 2,
    path,
    `field "maxLength" must be an integer >= 2`,
  );
  check(
    Number.isInteger(m.hiddenSize) && m.hiddenSize >= 1,
    path,
    `field "hiddenSize" must be an integer >= 1`,
  );
  check(typeof m.tokenizer?.file === "string", path, `field "tokenizer.file" must be a file name`);
  check(typeof m.graphs === "object" && m.graphs !== null, path, `field "graphs" is missing`);
  checkGraph(m.graphs.embeddings, `${path}: graphs.embeddings`);
  check(
    Array.isArray(m.graphs.layers) && m.graphs.layers.length === m.numExits,
    path,
    `field "graphs.layers" must list ${m.numExits} layers`,
  );
  m.graphs.layers.forEach((g, i) => checkGraph(g, `${path}: graphs.layers[${i}]`));
  if (m.graphs.fused !== undefined) {
    const fused = checkGraph(m.graphs.fused, `${path}: graphs.fused`);
    check(
      fused.inputs.length === 2 && fused.outputs.length >= 1,
      `${path}: graphs.fused`,
      `must list 2 inputs (token ids, attention mask) and the logits output`,
    );
  }
  if (m.costs !== undefined) {
    check(
      Array.isArray(m.costs.exits) &&
        m.costs.exits.length === m.numExits &&
        m.costs.exits.every((c) => Number.isFinite(c) && c > 0),
      path,
      `field "costs.exits" must hold ${m.numExits} positive numbers`,
    );
  }
  return m;
}
