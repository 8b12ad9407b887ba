// training/photo_caption/import_bundle.py: the committed photo captioner rebuilt in PyTorch from
// its graphs reproduces its golden captions (PyTorch's, written at export), and a bundle whose
// golden captions it cannot reproduce is refused naming the photos. On the rebuilt run, the exit
// adapters and fill maps are fitted and exported end to end. Needs the TFLite file (data
// outside the repository, as for the MobileNetV2 tests) and PyTorch; skipped without them.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Captioner } from "@beem-ts/caption";
import { ort } from "@beem-ts/runtime";
import { PYTHON, ROOT, converterScripts, hasPython } from "./converter-scripts.js";

const BUNDLE = join(ROOT, "models/photo-caption");
const MODEL_DIR =
  process.env.BEEM_MOBILENET_V2_DIR ?? resolve(ROOT, "../shared/data/encoders/mobilenet-v2-coral");
const TFLITE = join(MODEL_DIR, "mobilenet_v2_1.0_224_quant.tflite");
const present = existsSync(TFLITE) && existsSync(join(BUNDLE, "manifest.json"));
if (!present)
  console.warn(`SKIPPED the bundle import tests: no ${TFLITE} (set BEEM_MOBILENET_V2_DIR)`);
const hasTorch =
  present &&
  hasPython("torch, onnx, PIL", "python3-torch python3-onnx python3-pil", "bundle import");

const { python } = converterScripts(join(ROOT, "training/photo_caption"));

/** python -c FAKE_DATA DIR BUNDLE: a data cache of 24 photos with random features. */
const FAKE_DATA = `
import json, os, shutil, sys
import numpy as np
out, bundle = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
for name in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(bundle, name), os.path.join(out, "tokenizer", name))
rng = np.random.default_rng(0)
splits = ["train"] * 12 + ["calibration"] * 6 + ["dev"] * 6
with open(os.path.join(out, "photos.jsonl"), "w") as f:
    for i, split in enumerate(splits):
        ids = [[int(t) for t in rng.integers(3, 200, 8)] for _ in range(5)]
        f.write(json.dumps({"index": i, "file": f"p{i}.jpg", "split": split, "ids": ids,
                            "words": [[str(t) for t in c] for c in ids]}) + "\\n")
open(os.path.join(out, "text-ids.jsonl"), "w").close()
features = rng.uniform(0, 6, (len(splits), 49, 1280)) * (rng.uniform(size=(len(splits), 49, 1280)) < 0.3)
features.astype(np.float16).tofile(os.path.join(out, "features-v0.f16"))
manifest = json.load(open(os.path.join(bundle, "manifest.json")))
json.dump({"image": manifest["image"], "splits": {s: splits.count(s) for s in set(splits)}, "textOnly": 0,
           "vocabSize": manifest["vocabSize"], "calibrationMod": 10,
           "variants": [{"k": 0, "name": "whole", "photos": list(range(len(splits)))}]},
          open(os.path.join(out, "data.json"), "w"))
`;
const GOLDEN = join(ROOT, "training/mobilenet/reference");

// The tests run in order: the adapters are trained on the run the first one imports.
describe.runIf(hasTorch)("import_bundle.py", () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "beem-import-"));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("rebuilds the photo captioner from its graphs: its golden captions, and best.pt written", () => {
    const out = join(work, "run/best.pt");
    const r = python("import_bundle.py", [
      "--bundle",
      BUNDLE,
      "--tflite",
      TFLITE,
      "--golden",
      GOLDEN,
      "--out",
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const golden = JSON.parse(readFileSync(join(BUNDLE, "golden.json"), "utf8"));
    expect(r.stdout).toContain(
      `golden captions reproduced: ${golden.photos.length} of ${golden.photos.length}`,
    );
    expect(existsSync(out)).toBe(true);
  }, 120_000);

  it("exit adapters: trained on the model's own captions, exported, full depth unchanged", async () => {
    // A small data cache like prepare-data.ts's: 24 photos of random MobileNetV2-like features
    // (the adapters are fitted to whatever the model says about them), 12 train, 6 calibration,
    // 6 dev, one variant.
    const data = join(work, "data");
    const make = spawnSync(PYTHON, ["-c", FAKE_DATA, data, BUNDLE], { encoding: "utf8" });
    expect(make.status, make.stderr).toBe(0);
    const run = join(work, "run");
    const adapters = join(work, "adapters.pt");
    const trained = python("exit_adapters.py", [
      ...["--run", run, "--data", data, "--epochs", "3", "--variants", "1", "--out", adapters],
      ...["--states", join(work, "states.pt")],
    ]);
    expect(trained.status, trained.stderr).toBe(0);
    // Agreement with the last exit on the photos it was fitted on: better than the kept heads'.
    const before = JSON.parse(/agreement before, train: (\[[^\]]*\])/.exec(trained.stdout)![1]!);
    const after = JSON.parse(/agreement after, train: (\[[^\]]*\])/.exec(trained.stdout)![1]!);
    expect(after.reduce((a: number, b: number) => a + b)).toBeGreaterThan(
      before.reduce((a: number, b: number) => a + b),
    );
    const out = join(work, "adapted");
    const exported = python("export_photo.py", [
      ...["--run", run, "--data", data, "--tflite", TFLITE, "--golden", GOLDEN],
      ...["--adapters", adapters, "--out", out],
    ]);
    expect(exported.status, exported.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.training.exitAdapters.rank).toBe(32);
    const tokens = (dir: string) =>
      JSON.parse(readFileSync(join(dir, "golden.json"), "utf8")).tokens as number[][];
    expect(tokens(out)).toEqual(tokens(BUNDLE));
    // In the runtime: the same full-depth captions as PyTorch's, the same last exit, other early heads.
    const adapted = await Captioner.load(out);
    const kept = await Captioner.load(BUNDLE);
    try {
      const photo = join(GOLDEN, "pets.png");
      const a = await adapted.exitLog([photo]);
      const k = await kept.exitLog([photo]);
      expect(a.map((s) => s.label)).toEqual(k.map((s) => s.label));
      a.forEach((s, i) =>
        expect(s.summaries[5]!.confidence).toBeCloseTo(k[i]!.summaries[5]!.confidence, 5),
      );
      const changed = a.filter(
        (s, i) => s.summaries[0]!.confidence !== k[i]!.summaries[0]!.confidence,
      );
      expect(changed.length).toBeGreaterThan(0);
    } finally {
      await Promise.all([adapted.dispose(), kept.dispose()]);
    }
  }, 300_000);

  it("fill maps: fitted on the model's own captions, built into the fillAbove graphs", async () => {
    // On the run and data cache of the tests above. Two maps (rank 4) for exit 1 on a 6-layer
    // model: layers 3 to 6; exit 2's layers copy.
    const run = join(work, "run");
    const data = join(work, "data");
    const fills = join(work, "fill-maps.pt");
    // The training photos' hidden states are exit_adapters.py's, kept above (--states).
    const fitted = python("fill_maps.py", [
      ...["--run", run, "--data", data, "--rank", "4", "--exits", "1", "--variants", "1"],
      ...["--states", join(work, "states.pt"), "--out", fills],
    ]);
    expect(fitted.status, fitted.stderr).toBe(0);
    expect(fitted.stdout).toMatch(/hidden states of 12 photos x 1 variant\(s\) read from/);
    // Each map predicts its layer's input on the dev photos better than the copy does.
    const errors = JSON.parse(
      /per \(exit, layer\): (\{[^}]*\})/.exec(fitted.stdout)![1]!.replaceAll("'", '"'),
    ) as Record<string, number>;
    expect(Object.keys(errors).sort()).toEqual(["1,3", "1,4", "1,5", "1,6"]);
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1);
    const out = join(work, "filled");
    const exported = python("export_photo.py", [
      ...["--run", run, "--data", data, "--tflite", TFLITE, "--golden", GOLDEN],
      ...["--fills", fills, "--out", out],
    ]);
    expect(exported.status, exported.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.graphs.fillMaps).toEqual(
      [3, 4, 5, 6].map((layer) => ({ exit: 1, layer, file: `fill_1_${layer}.onnx` })),
    );
    expect(manifest.training.fillMaps.rank).toBe(4);
    const tokens = (dir: string) =>
      JSON.parse(readFileSync(join(dir, "golden.json"), "utf8")).tokens as number[][];
    expect(tokens(out)).toEqual(tokens(BUNDLE));
    // In the runtime: exit 1's fill gives layer 2 the copy (its exact input) and layers 3-6
    // the maps' predictions; exit 2's fill has no maps, as in a bundle exported without them.
    const filled = await Captioner.load(out);
    const plain = await Captioner.load(join(work, "adapted"));
    try {
      const d = manifest.hiddenSize as number;
      const hidden = new ort.Tensor(
        "float32",
        Float32Array.from({ length: 2 * d }, (_, i) => Math.sin(i * 0.3)),
        [1, 2, d],
      );
      const same = (a: ort.Tensor, b: ort.Tensor) =>
        (a.data as Float32Array).every((v, i) => Math.abs(v - (b.data as Float32Array)[i]!) < 1e-4);
      const a = await filled.model.fillAbove(0, hidden);
      const b = await plain.model.fillAbove(0, hidden);
      expect(a.map((kv, k) => same(kv.key, b[k]!.key))).toEqual([true, false, false, false, false]);
      const a2 = await filled.model.fillAbove(1, hidden);
      const b2 = await plain.model.fillAbove(1, hidden);
      expect(a2.every((kv, k) => same(kv.key, b2[k]!.key))).toBe(true);
    } finally {
      await Promise.all([filled.dispose(), plain.dispose()]);
    }
  }, 300_000);

  it("refuses a bundle whose golden captions it does not reproduce, naming the photos", () => {
    const dir = join(work, "bundle");
    mkdirSync(dir);
    for (const file of readdirSync(BUNDLE))
      if (file !== "golden.json") symlinkSync(join(BUNDLE, file), join(dir, file));
    const golden = JSON.parse(readFileSync(join(BUNDLE, "golden.json"), "utf8"));
    golden.tokens[0] = [...golden.tokens[0].slice(0, -1), golden.tokens[0].at(-1) + 1];
    writeFileSync(join(dir, "golden.json"), JSON.stringify(golden));
    const r = python("import_bundle.py", ["--bundle", dir, "--tflite", TFLITE, "--golden", GOLDEN]);
    expect(r.status).toBe(1);
    const n = golden.photos.length;
    expect(r.stdout).toContain(
      `golden captions reproduced: ${n - 1} of ${n} (not: ${golden.photos[0]})`,
    );
  }, 120_000);
});
