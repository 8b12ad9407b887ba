// Renders scenes for caption training into a cache Python reads fast: DIR/images-S.u8 (N x S x S
// x 3 RGB, resized as the runtime resizes) and DIR/captions.jsonl (five token-id lists per
// scene, from the tokenizer the runtime uses, and which of them is the canonical caption). With
// --tokenizer-out, first builds that word-level tokenizer from these scenes' captions.
// Usage: tsx make-data.ts --count N --seed S --out DIR [--size 96] [--tokenizer DIR | --tokenizer-out DIR]
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { canonicalReference, generateScenes, renderScene } from "@beem-ts/scenes";
import { loadTokenizer } from "@beem-ts/runtime";
import { buildWordTokenizer } from "./word-tokenizer.js";

const { values } = parseArgs({
  options: {
    count: { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    size: { type: "string", default: "96" },
    tokenizer: { type: "string" },
    "tokenizer-out": { type: "string" },
  },
});
const usage =
  "Usage: make-data.ts --count N --seed S --out DIR [--size 96] [--tokenizer DIR | --tokenizer-out DIR]";
function integer(flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isInteger(n) || n < min)
    throw new Error(
      `Expected ${flag} to be an integer >= ${min} but received ${JSON.stringify(value)}\n${usage}`,
    );
  return n;
}
const count = integer("--count", values.count, 1);
const seed = integer("--seed", values.seed, 0);
const size = integer("--size", values.size, 8);
if (values.out === undefined) throw new Error(`Give --out DIR\n${usage}`);
if (values.tokenizer !== undefined && values["tokenizer-out"] !== undefined)
  throw new Error(`Give --tokenizer or --tokenizer-out, not both\n${usage}`);
if (values.tokenizer !== undefined) {
  for (const file of ["tokenizer.json", "tokenizer_config.json"])
    if (!existsSync(join(values.tokenizer, file)))
      throw new Error(
        `${join(values.tokenizer, file)}: file not found (--tokenizer names a folder made with --tokenizer-out)`,
      );
}
mkdirSync(values.out, { recursive: true });
const scenes = generateScenes(seed, count);
let tokenizerDir = values.tokenizer;
if (values["tokenizer-out"] !== undefined) {
  tokenizerDir = values["tokenizer-out"];
  const words = buildWordTokenizer(
    scenes.flatMap((s) => s.captions),
    tokenizerDir,
  );
  console.log(`tokenizer: ${words} tokens -> ${tokenizerDir}`);
}
if (tokenizerDir === undefined) throw new Error("Give --tokenizer DIR or --tokenizer-out DIR");
const tokenizer = await loadTokenizer(tokenizerDir, {
  file: "tokenizer.json",
  config: "tokenizer_config.json",
});
const images = createWriteStream(join(values.out, `images-${size}.u8`));
const lines: string[] = [];
const started = Date.now();
for (const [k, scene] of scenes.entries()) {
  const png = await renderScene(scene);
  const raw = await sharp(png).resize(size, size, { fit: "fill" }).removeAlpha().raw().toBuffer();
  if (!images.write(raw)) await new Promise<void>((r) => images.once("drain", () => r()));
  const ids = scene.captions.map((c) => tokenizer.encode(c));
  lines.push(
    JSON.stringify({
      id: scene.id,
      objects: scene.objects.length,
      canonical: canonicalReference(scene.objects.length),
      ids,
    }),
  );
  if ((k + 1) % 1000 === 0)
    console.log(`${k + 1}/${count} scenes, ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
await new Promise<void>((r) => images.end(() => r()));
writeFileSync(join(values.out, "captions.jsonl"), lines.join("\n") + "\n");
console.log(`${count} scenes (seed ${seed}) -> ${values.out}`);
