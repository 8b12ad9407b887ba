// The Hugging Face text converter (BERT, ALBERT, DistilBERT) on small random checkpoints written
// in Hugging Face's own layout (safetensors and .bin; WordPiece tokenizers, and a SentencePiece
// Unigram one for ALBERT as it ships): full depth against two references (the converter's
// PyTorch model and an independent NumPy pass), truncation, batching, the distilled exit heads,
// labelled calibration, and bad input refused by name with nothing left behind.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExitLog, seededRandom } from "@beem-ts/core";
import { loadTokenizer } from "@beem-ts/runtime";
import { TextClassifier } from "@beem-ts/text";
import { compareWithGolden } from "../text/golden.js";
import { ENV, PYTHON, ROOT, converterScripts, hasPython } from "./converter-scripts.js";

const SCRIPTS = join(ROOT, "training/hf_text");
const hasTorch = hasPython("torch, onnx", "python3-torch python3-onnx", "text converter");
const WORDS =
  "the a film movie is was not very good bad great awful story plot actors acting funny boring it and of to but with this that one best worst love hate fun dull moving , . !".split(
    " ",
  );
const MAX_LENGTH = 32;

const { python, convert } = converterScripts(SCRIPTS);

/** Texts of 1 to 45 words: the longest pass the model's 32 tokens and are cut. */
function makeTexts(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const n = 1 + ((i * 7) % 45);
    return Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ");
  });
}

const CHECKPOINTS = {
  bert: ["--kind", "bert"],
  "bert-bin": ["--kind", "bert", "--bin", "--seed", "1"],
  albert: ["--kind", "albert", "--unigram", "--groups", "2", "--labels", "3"],
  distilbert: ["--kind", "distilbert", "--bin"],
} as const;
type Name = keyof typeof CHECKPOINTS;
const NAMES = Object.keys(CHECKPOINTS) as Name[];

describe.runIf(hasTorch)("pnpm convert:text on small Hugging Face checkpoints", () => {
  const work = mkdtempSync(join(tmpdir(), "beem-hf-text-"));
  const textsFile = join(work, "texts.txt");
  const calibrationFile = join(work, "calibration.jsonl");
  const texts = makeTexts(160, 3);
  const testTexts = makeTexts(60, 9);
  const hf = (name: Name) => join(work, "hf", name);
  const bundle = (name: Name) => join(work, "bundles", name);

  beforeAll(() => {
    writeFileSync(textsFile, texts.join("\n") + "\n");
    writeFileSync(
      calibrationFile,
      makeTexts(40, 5)
        .map((text, i) => JSON.stringify({ text, label: i % 2 }))
        .join("\n") + "\n",
    );
    for (const name of NAMES) {
      const made = python("make_tiny.py", ["--out", hf(name), ...CHECKPOINTS[name]]);
      expect(made.status, made.stderr).toBe(0);
      const extra = name === "bert" ? ["--calibration", calibrationFile] : [];
      const r = convert([
        "--hf",
        hf(name),
        "--out",
        bundle(name),
        "--texts",
        textsFile,
        "--epochs",
        "3",
        ...extra,
      ]);
      expect(r.status, r.stderr).toBe(0);
    }
  }, 600_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(NAMES)(
    "%s: full depth gives the references' labels and probabilities (1e-4), cut at the maximum length, batched or not",
    async (name) => {
      // Untruncated ids from the checkpoint's own tokenizer: the references truncate them.
      const tokenizer = await loadTokenizer(hf(name), {
        file: "tokenizer.json",
        config: "tokenizer_config.json",
      });
      const idsFile = join(work, `${name}-ids.jsonl`);
      const ids = testTexts.map((t) => tokenizer.encode(t));
      writeFileSync(idsFile, ids.map((i) => JSON.stringify({ ids: i })).join("\n") + "\n");
      const ref = python("reference.py", [
        "--hf",
        hf(name),
        "--ids",
        idsFile,
        "--max-length",
        String(MAX_LENGTH),
      ]);
      expect(ref.status, ref.stderr).toBe(0);
      const references = ref.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { torch: number[]; numpy: number[] });
      expect(references).toHaveLength(testTexts.length);
      // The two references agree with each other first.
      for (const r of references)
        r.torch.forEach((p, k) => expect(Math.abs(p - r.numpy[k]!)).toBeLessThan(1e-5));

      const classifier = await TextClassifier.load(bundle(name));
      try {
        expect(classifier.manifest.maxLength).toBe(MAX_LENGTH);
        const ways = {
          fused: { full: true },
          layerByLayer: { full: true, layerByLayer: true },
          fusedBatched: { full: true, batchSize: 16 },
          layerByLayerBatched: { full: true, layerByLayer: true, batchSize: 16 },
        };
        for (const [way, options] of Object.entries(ways)) {
          const out = await classifier.classify(testTexts, options);
          out.forEach((c, i) => {
            const expected = references[i]!.numpy;
            const argmax = expected.indexOf(Math.max(...expected));
            expect(c.labelId, `${way} text ${i}`).toBe(argmax);
            expect(c.exitLayer).toBe(classifier.numExits);
            expect(c.truncated).toBe(ids[i]!.length > MAX_LENGTH);
            c.probabilities.forEach((p, k) =>
              expect(Math.abs(p - expected[k]!), `${way} text ${i}`).toBeLessThan(1e-4),
            );
          });
        }
        expect(ids.filter((i) => i.length > MAX_LENGTH).length).toBeGreaterThan(5);
        // One at a time gives the same as in a batch.
        for (const i of [0, 17, 44]) {
          const one = await classifier.classify(testTexts[i]!, { full: true });
          const expected = references[i]!.numpy;
          one.probabilities.forEach((p, k) =>
            expect(Math.abs(p - expected[k]!)).toBeLessThan(1e-4),
          );
        }
      } finally {
        await classifier.dispose();
      }
    },
    120_000,
  );

  it.each(NAMES)(
    "%s: early exit runs through the distilled heads the converter trained",
    async (name) => {
      const dir = bundle(name);
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      expect(manifest.conversion.architecture).toBe(name.replace("-bin", ""));
      expect(manifest.conversion.distillation.epochs).toBe(3);
      // Every exit's logits in onnxruntime-node equal PyTorch's trained heads (golden.json).
      const golden = await compareWithGolden(dir);
      expect(golden.inputs).toBeGreaterThanOrEqual(4);
      expect(golden.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      const classifier = await TextClassifier.load(dir);
      try {
        const L = classifier.numExits;
        const first = await classifier.classify(testTexts, {
          policy: { version: 1, rule: "static", numExits: L, layer: 1 },
        });
        expect(first.every((c) => c.exitLayer === 1)).toBe(true);
        // Exit 1 is its own head, not the model's: it answers differently from full depth on
        // some texts (a random backbone changes a lot in one layer).
        const full = await classifier.classify(testTexts, { full: true });
        expect(
          first.some((c, i) => Math.abs(c.probabilities[0]! - full[i]!.probabilities[0]!) > 1e-3),
        ).toBe(true);
        // The default policy (BEEM-A on the calibration log) is the bundle's.
        expect(manifest.policy).toBe("policy.json");
        const log = parseExitLog(readFileSync(join(dir, manifest.calibrationLog), "utf8"));
        expect(log.numExits).toBe(L);
      } finally {
        await classifier.dispose();
      }
    },
  );

  it("calibrates on the labelled --calibration file when given, else on held-back texts", () => {
    const labelled = JSON.parse(readFileSync(join(bundle("bert"), "manifest.json"), "utf8"));
    const labels = parseExitLog(
      readFileSync(join(bundle("bert"), labelled.calibrationLog), "utf8"),
    ).labels;
    expect(Array.from(labels)).toEqual(Array.from({ length: 40 }, (_, i) => i % 2));
    expect(labelled.conversion.distillation.texts).toBe(160);
    const held = JSON.parse(readFileSync(join(bundle("distilbert"), "manifest.json"), "utf8"));
    expect(held.conversion.calibrationTexts).toBe(40);
    expect(held.conversion.distillation.texts).toBe(120);
    expect(held.labels).toEqual(["NEGATIVE", "POSITIVE"]);
    expect(
      JSON.parse(readFileSync(join(bundle("albert"), "manifest.json"), "utf8")).labels,
    ).toEqual(["LABEL_0", "LABEL_1", "LABEL_2"]);
  });

  it("ALBERT's shared layer is stored once in the weights file", () => {
    const size = (name: Name) => readFileSync(join(bundle(name), "weights.bin")).length;
    // 4 layers in 2 groups: 2 distinct layers' weights, against BERT's 4 (same widths; ALBERT's
    // embeddings are narrower still).
    expect(size("albert")).toBeLessThan(0.75 * size("bert"));
  });

  /** config.json or tokenizer.json, as far as the cases below change them. */
  type Doc = Record<string, unknown>;
  const editJson = (dir: string, file: string, edit: (v: Doc) => void) => {
    const v = JSON.parse(readFileSync(join(dir, file), "utf8"));
    edit(v);
    writeFileSync(join(dir, file), JSON.stringify(v));
  };
  function damaged(name: string, change: (dir: string) => void): string {
    const dir = join(work, `bad-${name}`);
    rmSync(dir, { recursive: true, force: true });
    spawnSync("cp", ["-r", hf("bert"), dir]);
    change(dir);
    return dir;
  }
  const leftovers = () =>
    readdirSync(join(work, "bundles")).filter((f) => f.includes(".converting-"));

  it.each([
    [
      "an unknown model_type",
      (d: string) => editJson(d, "config.json", (c) => (c.model_type = "roberta")),
      /config.json: field 'model_type' is 'roberta'/,
    ],
    [
      "a head that is not sequence classification",
      (d: string) => editJson(d, "config.json", (c) => (c.architectures = ["BertForMaskedLM"])),
      /field 'architectures' is \['BertForMaskedLM'\].*BertForSequenceClassification/,
    ],
    [
      "a missing weights file",
      (d: string) => rmSync(join(d, "model.safetensors")),
      /no model.safetensors or pytorch_model.bin/,
    ],
    [
      "a missing weight",
      (d: string) => {
        const code = `import sys; sys.path.insert(0, ${JSON.stringify(join(ROOT, "training/common"))})
from hf_files import read_safetensors, write_safetensors
p = ${JSON.stringify(join(d, "model.safetensors"))}
t = read_safetensors(p); del t["bert.encoder.layer.2.output.dense.bias"]; write_safetensors(p, t)`;
        const r = spawnSync(PYTHON, ["-c", code], { encoding: "utf8" });
        expect(r.status, r.stderr).toBe(0);
      },
      /model.safetensors: missing weight 'bert.encoder.layer.2.output.dense.bias'/,
    ],
    [
      "a mis-shaped weight",
      (d: string) => editJson(d, "config.json", (c) => (c.intermediate_size = 48)),
      /weight 'bert.encoder.layer.0.intermediate.dense.weight' has shape \[64, 32\], expected \[48, 32\]/,
    ],
    [
      "a tokenizer that does not match the embeddings",
      (d: string) =>
        editJson(d, "tokenizer.json", (t) => {
          const model = t.model as { vocab: Record<string, number> };
          model.vocab["extra"] = Object.keys(model.vocab).length;
        }),
      /tokenizer.json: 143 tokens, but config.json's vocab_size is 142/,
    ],
  ])("refuses %s, naming it, exit 1, and leaves nothing behind", (label, change, message) => {
    const dir = damaged(label.replace(/\W/g, ""), change);
    const out = join(work, "bundles", `out-${label.replace(/\W/g, "")}`);
    const r = convert(["--hf", dir, "--out", out, "--texts", textsFile, "--epochs", "1"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it.each([
    ["an empty --texts file", "empty.txt", "\n\n", /empty.txt: no texts in the file/],
    ["a missing --texts file", "missing.txt", undefined, /missing.txt: file not found \(--texts\)/],
  ])("refuses %s by name, exit 1, nothing left behind", (_, file, content, message) => {
    const path = join(work, file);
    if (content !== undefined) writeFileSync(path, content);
    const out = join(work, "bundles", `out-${file}`);
    const r = convert(["--hf", hf("bert"), "--out", out, "--texts", path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it("a conversion killed midway leaves no bundle", async () => {
    const out = join(work, "bundles", "out-killed");
    const child = spawn(
      "bash",
      [join(SCRIPTS, "convert.sh"), "--hf", hf("bert"), "--out", out, "--texts", textsFile],
      { env: ENV, cwd: ROOT, detached: true },
    );
    const exited = new Promise((r) => child.on("exit", r));
    for (let i = 0; i < 600; i++) {
      if (leftovers().length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    expect(existsSync(out)).toBe(false);
    for (const f of leftovers()) rmSync(join(work, "bundles", f), { recursive: true, force: true });
  });
});
