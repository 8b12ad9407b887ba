// The recipe's check step: onnxruntime-node against PyTorch's stored outputs, within 1e-4.
// Usage: tsx check-bundle.ts DIR
import { compareWithGolden } from "./golden.js";

const dir = process.argv[2];
if (dir === undefined) throw new Error("Usage: check-bundle.ts BUNDLE_DIR");
const result = await compareWithGolden(dir);
console.log(
  `${dir}: ${result.inputs} inputs, max |onnx - torch| = ${result.maxAbsDiff.toExponential(2)}`,
);
if (!(result.maxAbsDiff <= 1e-4)) {
  console.error("The exported graphs do not match PyTorch within 1e-4");
  process.exitCode = 1;
}
