// Compares a bundle's ONNX graphs, run by onnxruntime-node, with the PyTorch outputs that
// export.py stored in golden.json. Used by the recipe's check step and by the tests.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MultiExitEncoder, maskTensor } from "@beem-ts/text";

export interface GoldenComparison {
  readonly inputs: number;
  /** Largest absolute difference over every exit's logits of every input. */
  readonly maxAbsDiff: number;
}

export async function compareWithGolden(dir: string): Promise<GoldenComparison> {
  const golden = JSON.parse(await readFile(join(dir, "golden.json"), "utf8")) as {
    inputs: { ids: number[]; logits: number[][] }[];
  };
  const model = await MultiExitEncoder.load(dir);
  let maxAbsDiff = 0;
  try {
    for (const input of golden.inputs) {
      const n = input.ids.length;
      const mask = maskTensor(new BigInt64Array(n).fill(1n), 1, n);
      let hidden = await model.embed(BigInt64Array.from(input.ids, BigInt), 1, n);
      for (let i = 0; i < model.numExits; i++) {
        const out = await model.layer(i, hidden, mask);
        hidden = out.hidden;
        input.logits[i]!.forEach((v, k) => {
          maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - out.logits[k]!));
        });
      }
    }
  } finally {
    await model.dispose();
  }
  return { inputs: golden.inputs.length, maxAbsDiff };
}
