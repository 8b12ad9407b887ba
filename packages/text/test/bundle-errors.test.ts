import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TextClassifier } from "../src/index.js";
import { BUNDLE, bundlePresent } from "./bundle.js";

function damagedCopy(damage: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "beem-bundle-"));
  cpSync(BUNDLE, dir, { recursive: true });
  damage(dir);
  return dir;
}

describe.runIf(bundlePresent)("damaged bundles: an error naming the file", () => {
  it("a missing layer graph", async () => {
    const dir = damagedCopy((d) => rmSync(join(d, "layer_3.onnx")));
    await expect(TextClassifier.load(dir)).rejects.toThrow(
      /layer_3\.onnx: cannot load the ONNX graph/,
    );
  });

  it("a corrupt layer graph", async () => {
    const dir = damagedCopy((d) => writeFileSync(join(d, "layer_2.onnx"), "not a model"));
    await expect(TextClassifier.load(dir)).rejects.toMatchObject({
      code: "INVALID_BUNDLE",
      message: expect.stringMatching(/layer_2\.onnx/),
    });
  });

  it("a manifest that is not JSON, or lists the wrong number of layers", async () => {
    const broken = damagedCopy((d) => writeFileSync(join(d, "manifest.json"), "{"));
    await expect(TextClassifier.load(broken)).rejects.toThrow(
      /manifest\.json: cannot read the manifest/,
    );
    const short = damagedCopy((d) => {
      const m = JSON.parse(readFileSync(join(d, "manifest.json"), "utf8"));
      m.graphs.layers.pop();
      writeFileSync(join(d, "manifest.json"), JSON.stringify(m));
    });
    await expect(TextClassifier.load(short)).rejects.toThrow(
      /field "graphs.layers" must list 6 layers/,
    );
  });

  it("a policy for another number of exits", async () => {
    const dir = damagedCopy((d) =>
      writeFileSync(
        join(d, "policy.json"),
        JSON.stringify({ version: 1, rule: "final", numExits: 12 }),
      ),
    );
    await expect(TextClassifier.load(dir)).rejects.toThrow(
      /The policy is for 12 exits but the model has 6/,
    );
  });

  it("a missing tokenizer", async () => {
    const dir = damagedCopy((d) => rmSync(join(d, "tokenizer.json")));
    await expect(TextClassifier.load(dir)).rejects.toThrow(
      /tokenizer\.json: cannot read the tokenizer/,
    );
  });

  it("a folder that is not a bundle", async () => {
    // A folder of its own: the system's temporary folder may hold anyone's manifest.json.
    const empty = mkdtempSync(join(tmpdir(), "beem-not-a-bundle-"));
    try {
      await expect(TextClassifier.load(empty)).rejects.toThrow(
        /manifest\.json: cannot read the manifest/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
