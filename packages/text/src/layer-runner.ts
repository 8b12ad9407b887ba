// Runs a batch layer by layer; each row asks its own exit run whether to stop, and rows that
// stop leave the batch (hidden states and mask compacted, padding trimmed to the longest row
// still running), so a batch costs what its rows need.
import { softmax, summarize, type Decider, type StepDecision } from "@beem-ts/core";
import { maskTensor, type MultiExitEncoder } from "./multi-exit-encoder.js";
import { ort } from "@beem-ts/runtime";

export interface TraceStep {
  /** 1-based exit. */
  readonly layer: number;
  readonly prediction: number;
  readonly confidence: number;
  /** The rule's running score at this exit (BEEM's S_i). */
  readonly score: number;
}

export interface RowResult {
  readonly exitLayer: number;
  readonly prediction: number;
  readonly probabilities: Float64Array;
  readonly trace?: readonly TraceStep[];
  /** Every computed exit's probabilities (with `keepExits`). */
  readonly exits?: readonly Float64Array[];
}

export interface RunOptions {
  readonly trace?: boolean;
  readonly keepExits?: boolean;
}

interface Row {
  readonly position: number;
  readonly length: number;
  readonly run: ReturnType<Decider["begin"]>;
  readonly trace: TraceStep[] | undefined;
  readonly exits: Float64Array[] | undefined;
}

/** Runs token-id rows through the encoder with per-row early exit. */
export async function runRows(
  encoder: MultiExitEncoder,
  rows: readonly (readonly number[])[],
  decider: Decider,
  options: RunOptions = {},
): Promise<RowResult[]> {
  const hiddenSize = encoder.manifest.hiddenSize;
  const padId = encoder.manifest.tokenizer.padId;
  const labels = encoder.manifest.labels.length;
  let active: Row[] = rows.map((ids, position) => ({
    position,
    length: ids.length,
    run: decider.begin(),
    trace: options.trace === true ? [] : undefined,
    exits: options.keepExits === true ? [] : undefined,
  }));
  const padded = padRows(rows, padId);
  const { ids, mask } = padded;
  let width = padded.width;
  let hidden = await encoder.embed(ids, rows.length, width);
  let maskT = maskTensor(mask, rows.length, width);
  const results = new Array<RowResult>(rows.length);

  for (let layer = 0; layer < encoder.numExits && active.length > 0; layer++) {
    const out = await encoder.layer(layer, hidden, maskT);
    const keep: number[] = [];
    active.forEach((row, k) => {
      const probabilities = softmax(out.logits.subarray(k * labels, (k + 1) * labels));
      const decision: StepDecision = row.run.stepSummary(summarize(probabilities));
      row.trace?.push({
        layer: decision.layer,
        prediction: decision.prediction,
        confidence: decision.confidence,
        score: decision.score,
      });
      row.exits?.push(probabilities);
      if (decision.exit) {
        results[row.position] = {
          exitLayer: decision.layer,
          prediction: decision.prediction,
          probabilities,
          ...(row.trace && { trace: row.trace }),
          ...(row.exits && { exits: row.exits }),
        };
      } else {
        keep.push(k);
      }
    });
    if (keep.length === active.length) {
      hidden = out.hidden;
      continue;
    }
    const kept = keep.map((k) => active[k]!);
    const newWidth = Math.max(0, ...kept.map((r) => r.length));
    if (kept.length > 0) {
      const source = out.hidden.data as Float32Array;
      const oldMask = maskT.data as BigInt64Array;
      const data = new Float32Array(kept.length * newWidth * hiddenSize);
      const newMask = new BigInt64Array(kept.length * newWidth);
      keep.forEach((k, b) => {
        const from = k * width * hiddenSize;
        data.set(source.subarray(from, from + newWidth * hiddenSize), b * newWidth * hiddenSize);
        newMask.set(oldMask.subarray(k * width, k * width + newWidth), b * newWidth);
      });
      hidden = new ort.Tensor("float32", data, [kept.length, newWidth, hiddenSize]);
      maskT = maskTensor(newMask, kept.length, newWidth);
    }
    active = kept;
    width = newWidth;
  }
  return results;
}

/**
 * Full depth in one run of the bundle's fused graph (every layer, only the last exit head): the
 * model as a conventional classifier runs it.
 */
export async function runFused(
  encoder: MultiExitEncoder,
  rows: readonly (readonly number[])[],
): Promise<RowResult[]> {
  const labels = encoder.manifest.labels.length;
  const { ids, mask, width } = padRows(rows, encoder.manifest.tokenizer.padId);
  const logits = await encoder.full(
    new ort.Tensor("int64", ids, [rows.length, width]),
    maskTensor(mask, rows.length, width),
  );
  return rows.map((_, k) => {
    const probabilities = softmax(logits.subarray(k * labels, (k + 1) * labels));
    return {
      exitLayer: encoder.numExits,
      prediction: summarize(probabilities).prediction,
      probabilities,
    };
  });
}

/** Token-id rows padded to the longest: ids and attention mask, rows x width, row-major. */
function padRows(
  rows: readonly (readonly number[])[],
  padId: number,
): { ids: BigInt64Array; mask: BigInt64Array; width: number } {
  const width = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(padId));
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((r, b) => {
    r.forEach((id, t) => {
      ids[b * width + t] = BigInt(id);
      mask[b * width + t] = 1n;
    });
  });
  return { ids, mask, width };
}
