import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManifestCheck, readBundleJson, readManifest } from "../src/index.js";
import { bundleDir, manifest } from "./fixture.js";

describe("readManifest", () => {
  it("reads a manifest whose shared fields are right", async () => {
    const dir = bundleDir();
    const { manifest: m, check } = await readManifest(dir, "text-classification");
    expect(m.numExits).toBe(4);
    expect(m.tokenizer.file).toBe("tokenizer.json");
    expect(check.path).toBe(join(dir, "manifest.json"));
  });

  it.each([
    [{ format: "onnx" }, /field "format" must be "beem-bundle"/],
    [{ formatVersion: 2 }, /field "formatVersion" 2 is not supported/],
    [{ task: "image-captioning" }, /field "task" must be "text-classification"/],
    [{ id: "" }, /field "id" must be a non-empty string/],
    [{ numExits: 0 }, /field "numExits" must be an integer >= 1/],
    [{ numExits: 2.5 }, /field "numExits" must be an integer >= 1/],
    [{ maxLength: 1 }, /field "maxLength" must be an integer >= 2/],
    [{ tokenizer: { file: "tokenizer.json" } }, /field "tokenizer.config" must name a .json file/],
    [{ policy: 3 }, /field "policy" must name a .json file/],
    [{ costs: { fixed: 0, exits: [1, 1, 1] } }, /field "costs.exits" must list 4 numbers/],
    [
      { costs: { fixed: 0, exits: [1, 1, 0, 1] } },
      /field "costs.exits" must hold 4 finite numbers/,
    ],
    [
      { costs: { fixed: -1, exits: [1, 1, 1, 1] } },
      /field "costs.fixed" must be a finite number >= 0/,
    ],
  ])("refuses %j, naming the file and the field", async (override, message) => {
    const dir = bundleDir({ "manifest.json": JSON.stringify(manifest(override)) });
    const error = await readManifest(dir, "text-classification").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_BUNDLE" });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.startsWith(join(dir, "manifest.json"))).toBe(true);
  });

  it("refuses malformed JSON, a JSON array and a missing manifest", async () => {
    await expect(
      readManifest(bundleDir({ "manifest.json": "{" }), "text-classification"),
    ).rejects.toThrow(/manifest\.json: cannot read the manifest/);
    await expect(
      readManifest(bundleDir({ "manifest.json": "[]" }), "text-classification"),
    ).rejects.toThrow(/manifest\.json: must be a JSON object/);
    const dir = bundleDir();
    rmSync(join(dir, "manifest.json"));
    await expect(readManifest(dir, "text-classification")).rejects.toMatchObject({
      code: "INVALID_BUNDLE",
    });
  });
});

describe("ManifestCheck", () => {
  const check = new ManifestCheck("m.json", {
    graphs: { layers: [{ step: "a.onnx" }, { step: 3 }] },
    image: { mean: [0.5, 0.5, 0.5] },
  });

  it("reads dotted and indexed fields", () => {
    expect(check.get("graphs.layers[0].step")).toBe("a.onnx");
    expect(check.get("graphs.layers[5].step")).toBeUndefined();
    expect(check.get("image.mean")).toEqual([0.5, 0.5, 0.5]);
  });

  it("names the field that is wrong", () => {
    expect(check.file("graphs.layers[0].step", ".onnx")).toBe("a.onnx");
    expect(() => check.file("graphs.layers[1].step", ".onnx")).toThrow(
      'm.json: field "graphs.layers[1].step" must name a .onnx file',
    );
    expect(() => check.numbers("image.mean", 3, 0.6)).toThrow(/field "image.mean" must hold 3/);
    expect(check.optionalFile("graphs.fused")).toBeUndefined();
  });
});

describe("readBundleJson", () => {
  it("says which file and what it is for", async () => {
    const dir = bundleDir({ "policy.json": "not json" });
    await expect(readBundleJson(dir, "policy.json", "policy")).rejects.toThrow(
      /policy\.json: cannot read the policy/,
    );
  });
});
