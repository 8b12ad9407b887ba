// The Hugging Face ViT + GPT-2 converter on tiny random checkpoints written in Hugging Face's own
// layout (safetensors and .bin): full depth against the reference implementation and
// transformers.js, early exit through the shortlist heads, and bad input refused by name.
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Captioner } from "@beem-ts/caption";
import { parseExitLog, parsePolicy, seededRandom } from "@beem-ts/core";
import { loadTokenizer } from "@beem-ts/runtime";
import { ENV, ROOT, converterScripts, hasPython } from "./converter-scripts.js";

const SCRIPTS = join(ROOT, "training/vit_gpt2");
const hasTorch = hasPython(
  "torch, onnx, PIL",
  "python3-torch python3-onnx python3-pil",
  "vit-gpt2 converter",
);

const { python, convert } = converterScripts(SCRIPTS);

/** Images already at the model's input size (32 x 32), so that no resampling enters. */
async function writeImages(dir: string, count: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const random = seededRandom(7);
  for (let i = 0; i < count; i++) {
    const raw = Buffer.alloc(32 * 32 * 3);
    const band = [0, 1, 2].map(() => Math.floor(random() * 256));
    for (let p = 0; p < 32 * 32; p++)
      for (let c = 0; c < 3; c++)
        raw[p * 3 + c] = p < 16 * 32 ? band[c]! : Math.floor(random() * 256);
    await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toFile(join(dir, `img${String(i).padStart(2, "0")}.png`));
  }
}

describe.runIf(hasTorch)("pnpm convert:vit-gpt2 on tiny Hugging Face checkpoints", () => {
  const work = mkdtempSync(join(tmpdir(), "beem-vit-gpt2-"));
  const images = join(work, "images");
  const hf = { safetensors: join(work, "hf"), bin: join(work, "hf-bin") };
  const bundles = { safetensors: join(work, "bundle"), bin: join(work, "bundle-bin") };
  let golden: { images: string[]; tokens: number[][] };

  beforeAll(async () => {
    await writeImages(images, 12);
    for (const [kind, dir] of Object.entries(hf)) {
      const made = python("make_tiny.py", ["--out", dir, ...(kind === "bin" ? ["--bin"] : [])]);
      expect(made.status, made.stderr).toBe(0);
      const args = [
        "--hf",
        dir,
        "--out",
        bundles[kind as keyof typeof bundles],
        "--images",
        images,
      ];
      const r = convert([...args, "--shortlist", "64", "--epochs", "2"]);
      expect(r.status, r.stderr).toBe(0);
    }
    golden = JSON.parse(readFileSync(join(bundles.safetensors, "golden.json"), "utf8"));
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(["safetensors", "bin"] as const)(
    "the %s checkpoint at full depth gives the reference implementation's greedy tokens",
    async (kind) => {
      const captioner = await Captioner.load(bundles[kind]);
      const tokenizer = await loadTokenizer(bundles[kind], {
        file: "tokenizer.json",
        config: "tokenizer_config.json",
      });
      try {
        expect(golden.images.length).toBeGreaterThanOrEqual(3);
        for (const [i, name] of golden.images.entries()) {
          for (const options of [{ full: true }, { full: true, layerByLayer: true }]) {
            const r = await captioner.caption(join(images, name), options);
            expect(
              r.tokens.map((t) => t.id),
              `${name} ${JSON.stringify(options)}`,
            ).toEqual(golden.tokens[i]);
          }
          // Byte-level BPE: the token texts join to the decoding of the whole caption; streamed,
          // the same texts (the last one without the U+FFFD of a character left incomplete at
          // the end, which only the whole caption knows).
          const r = await captioner.caption(join(images, name), { full: true });
          const decoded = tokenizer.decode(
            r.tokens.map((t) => t.id),
            { skip_special_tokens: true, clean_up_tokenization_spaces: false },
          );
          expect(r.tokens.map((t) => t.text).join("")).toBe(decoded);
          const streamed: string[] = [];
          for await (const t of captioner.stream(join(images, name), { full: true }))
            streamed.push(t.text);
          expect(streamed.slice(0, -1)).toEqual(r.tokens.slice(0, -1).map((t) => t.text));
          expect(decoded.startsWith(streamed.join(""))).toBe(true);
        }
      } finally {
        await captioner.dispose();
      }
    },
  );

  it("transformers.js' image-to-text on the same checkpoint gives the same tokens", async () => {
    const tjsRoot = join(work, "tjs");
    const r = python("export_tjs.py", ["--hf", hf.safetensors, "--out", join(tjsRoot, "tiny")]);
    expect(r.status, r.stderr).toBe(0);
    const { AutoModelForVision2Seq, AutoProcessor, RawImage, env, pipeline } =
      await import("@xenova/transformers");
    env.allowRemoteModels = false;
    env.localModelPath = tjsRoot + "/";
    const model = await AutoModelForVision2Seq.from_pretrained("tiny", { quantized: false });
    const processor = await AutoProcessor.from_pretrained("tiny");
    const pipe = await pipeline("image-to-text", "tiny", { quantized: false });
    const captioner = await Captioner.load(bundles.safetensors);
    try {
      const maxNew = captioner.model.manifest.maxLength - 1;
      for (const name of golden.images) {
        const { pixel_values } = await processor(await RawImage.read(join(images, name)));
        const out = (await model.generate(pixel_values, { max_new_tokens: maxNew })) as {
          data?: ArrayLike<bigint>;
        }[];
        const theirs = Array.from(out[0]!.data ?? (out[0] as ArrayLike<bigint>), Number).slice(1);
        const ours = await captioner.caption(join(images, name), { full: true });
        const eos = captioner.model.manifest.tokens.eos;
        expect(
          ours.tokens.map((t) => t.id),
          name,
        ).toEqual(theirs.filter((id) => id !== eos));
        const text = (await pipe(join(images, name), { max_new_tokens: maxNew })) as {
          generated_text: string;
        }[];
        expect(ours.text).toBe(text[0]!.generated_text.trim());
      }
    } finally {
      await captioner.dispose();
      await model.dispose();
      await pipe.dispose();
    }
  });

  it("exits early through the shortlist heads, and writes a complete bundle", async () => {
    const dir = bundles.safetensors;
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const shortlist = new Set<number>(
      JSON.parse(readFileSync(join(dir, "shortlist.json"), "utf8")),
    );
    expect(shortlist.size).toBe(64);
    expect(shortlist.has(manifest.tokens.eos)).toBe(true);
    const L = manifest.numExits;
    expect(
      manifest.graphs.layers.map((l: { shortlist?: string }) => l.shortlist ?? "full"),
    ).toEqual([...Array.from({ length: L - 1 }, () => "shortlist.json"), "full"]);
    const captioner = await Captioner.load(dir);
    try {
      expect(captioner.model.headSize(0)).toBe(64);
      expect(captioner.model.headSize(L - 1)).toBe(manifest.vocabSize);
      // Every exit below the last predicts a token of the shortlist.
      const log = await captioner.exitLog(golden.images.map((n) => join(images, n)));
      for (const sample of log)
        for (const s of sample.summaries.slice(0, -1))
          expect(shortlist.has(s.prediction)).toBe(true);
      // A policy that stops at layer 1 answers every token from the first shortlist head.
      const first = await captioner.caption(join(images, golden.images[0]!), {
        policy: { version: 1, rule: "static", numExits: L, layer: 1 },
      });
      expect(first.exitLayers.every((l) => l === 1)).toBe(true);
      for (const t of first.tokens) expect(shortlist.has(t.id)).toBe(true);
      const early = await captioner.caption(join(images, golden.images[0]!));
      expect(Math.min(...early.exitLayers)).toBeLessThan(L);
    } finally {
      await captioner.dispose();
    }
    // The tokenizer as shipped, a calibration log on the held-back images, a default policy.
    for (const file of ["tokenizer.json", "tokenizer_config.json"])
      expect(readFileSync(join(dir, file))).toEqual(readFileSync(join(hf.safetensors, file)));
    const log = parseExitLog(readFileSync(join(dir, manifest.calibrationLog), "utf8"));
    expect(log.numExits).toBe(L);
    expect(parsePolicy(JSON.parse(readFileSync(join(dir, manifest.policy), "utf8"))).numExits).toBe(
      L,
    );
    expect(manifest.graphs.fused).toBeDefined();
    expect(manifest.image).toMatchObject({ size: 32, resample: "bilinear", mean: [0.5, 0.5, 0.5] });
    expect(readdirSync(work).filter((f) => f.includes(".converting-"))).toEqual([]);
  });

  function damaged(name: string, change: (dir: string) => void): string {
    const dir = join(work, `bad-${name}`);
    rmSync(dir, { recursive: true, force: true });
    spawnSync("cp", ["-r", hf.safetensors, dir]);
    change(dir);
    return dir;
  }
  /** config.json or tokenizer.json, as far as the cases below change them. */
  type Doc = Record<string, unknown> & {
    decoder: Record<string, unknown>;
    model: { vocab: Record<string, number> };
  };
  const editJson = (dir: string, file: string, edit: (v: Doc) => void) => {
    const v = JSON.parse(readFileSync(join(dir, file), "utf8"));
    edit(v);
    writeFileSync(join(dir, file), JSON.stringify(v));
  };

  it.each([
    [
      "an unknown model_type",
      (d: string) => editJson(d, "config.json", (c) => (c.model_type = "t5")),
      /field 'model_type' is 't5'/,
    ],
    [
      "a decoder that is not GPT-2",
      (d: string) => editJson(d, "config.json", (c) => (c.decoder.model_type = "bert")),
      /field 'decoder.model_type' is 'bert'/,
    ],
    [
      "a decoder without cross-attention",
      (d: string) => editJson(d, "config.json", (c) => (c.decoder.add_cross_attention = false)),
      /decoder.add_cross_attention/,
    ],
    [
      "no weights file",
      (d: string) => rmSync(join(d, "model.safetensors")),
      /no model.safetensors or pytorch_model.bin/,
    ],
    [
      "a mis-shaped weight",
      (d: string) => editJson(d, "config.json", (c) => (c.decoder.n_positions = 40)),
      /weight 'decoder.transformer.wpe.weight' has shape \[32, 32\], expected \[40, 32\]/,
    ],
    [
      "a vocabulary larger than the embeddings",
      (d: string) => editJson(d, "config.json", (c) => (c.decoder.vocab_size = 400)),
      /weight 'decoder.transformer.wte.weight' has shape|tokenizer.json: 347 tokens/,
    ],
    [
      "a tokenizer that does not match the embeddings",
      (d: string) => editJson(d, "tokenizer.json", (t) => delete t.model.vocab["Ġcat"]),
      /tokenizer.json: its token ids are not 0..N-1/,
    ],
  ])("refuses %s, naming it, and leaves nothing behind", (name, change, message) => {
    const dir = damaged(name.replace(/\W/g, ""), change);
    const out = join(work, `out-${name.replace(/\W/g, "")}`);
    const r = convert(["--hf", dir, "--out", out, "--images", images, "--epochs", "1"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((f) => f.includes(".converting-"))).toEqual([]);
  });

  it("refuses an image folder with no readable image", () => {
    const empty = join(work, "not-images");
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, "notes.png"), "not an image");
    const out = join(work, "out-noimages");
    const r = convert(["--hf", hf.safetensors, "--out", out, "--images", empty]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no readable image among 1 files/);
    expect(existsSync(out)).toBe(false);
  });

  it("a conversion killed midway leaves no bundle", async () => {
    const out = join(work, "out-killed");
    const child = spawn(
      "bash",
      [join(SCRIPTS, "convert.sh"), "--hf", hf.safetensors, "--out", out, "--images", images],
      {
        env: ENV,
        cwd: ROOT,
        detached: true,
      },
    );
    const exited = new Promise((r) => child.on("exit", r));
    // Kill once the export into the temporary folder has begun.
    for (let i = 0; i < 600; i++) {
      if (readdirSync(work).some((f) => f.startsWith(".out-killed.converting-"))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    expect(existsSync(out)).toBe(false);
    for (const f of readdirSync(work).filter((f) => f.startsWith(".out-killed.converting-")))
      rmSync(join(work, f), { recursive: true, force: true });
  });
});
