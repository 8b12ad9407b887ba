// After export: measures per-exit costs in onnxruntime-node, logs every exit per generated token
// on calibration images with the full-depth token as the label, and fits the bundle's default
// policy (BEEM-A) on that log. The images: --images FILE (one path per line; the converters'
// held-back images), or else --scenes N synthetic scenes of seed 3 (the demo model's calibration
// scenes, never trained or reported on). Each log line carries its image as "group", so that
// risk control (beem calibrate --max-loss) counts images, not tokens, as samples. --keep-costs
// keeps the costs already in the manifest (measured on a quiet machine) instead of measuring again.
// --variants N (with --images) logs the first N of the photo captioner's augmented variants of
// each image (training/photo_caption/variants.ts: the photo, mirrored, cropped), grouped with
// their photo; default 1, the photo alone.
// Usage: tsx calibrate-captions.ts BUNDLE_DIR [--images FILE [--variants 1] | --scenes 300]
//   [--lambda 0.01] [--keep-costs]
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import {
  ExitTableBuilder,
  calibrate,
  foldFixedCost,
  formatSummaryLogLine,
  serializePolicy,
} from "@beem-ts/core";
import {
  CaptionModel,
  Captioner,
  ImageMemory,
  SequenceCache,
  imageToPixels,
  stepLayer,
} from "@beem-ts/caption";
import { generateScenes, renderScene } from "@beem-ts/scenes";
import { VARIANTS, variantImage } from "../photo_caption/variants.js";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    scenes: { type: "string", default: "300" },
    images: { type: "string" },
    lambda: { type: "string", default: "0.01" },
    "keep-costs": { type: "boolean", default: false },
    variants: { type: "string", default: "1" },
  },
});
const dir = positionals[0];
if (dir === undefined)
  throw new Error(
    "Usage: calibrate-captions.ts BUNDLE_DIR [--images FILE [--variants N] | --scenes N] [--lambda X] [--keep-costs]",
  );
const variants = Number(values.variants);
if (!(Number.isInteger(variants) && variants >= 1 && variants <= VARIANTS.length))
  throw new Error(
    `Expected --variants to be an integer in [1, ${VARIANTS.length}] but received ${values.variants}`,
  );
const images: (Buffer | string)[] =
  values.images === undefined
    ? await Promise.all(generateScenes(3, Number(values.scenes)).map((s) => renderScene(s)))
    : readFileSync(values.images, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "");
const source =
  values.images === undefined
    ? `${images.length} calibration scenes`
    : `${images.length} images${variants > 1 ? ` in ${variants} variants each` : ""}`;

const manifestPath = join(dir, "manifest.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
if (values["keep-costs"]) {
  if (manifest.costs === undefined)
    throw new Error(`${manifestPath} has no costs to keep: run without --keep-costs`);
} else {
  manifest.costs = await measureCosts(dir);
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
}
console.log(
  `costs per token (ms): fixed ${manifest.costs.fixed}, layers ${manifest.costs.exits.join(", ")}`,
);

/**
 * Full-depth greedy steps on 30 images, each layer's step timed; the fixed part is the image
 * work (decode, encoder) and the token embedding, per generated token.
 */
async function measureCosts(bundle: string) {
  const model = await CaptionModel.load(bundle);
  const L = model.numExits;
  const layerMs = new Array<number>(L).fill(0);
  let fixedMs = 0;
  let steps = 0;
  for (const image of images.slice(0, 30)) {
    let t = performance.now();
    const memory = await model.encode([await imageToPixels(image, model.manifest.image)]);
    fixedMs += performance.now() - t;
    const cache = SequenceCache.start(model, new ImageMemory(memory, L));
    let token = model.manifest.tokens.bos;
    for (let position = 0; position < model.manifest.maxLength - 1; position++) {
      t = performance.now();
      let hidden = await model.embed([token], position);
      fixedMs += performance.now() - t;
      for (let layer = 0; layer < L; layer++) {
        t = performance.now();
        const [out] = await stepLayer(model, layer, [cache], { hidden: [hidden] });
        layerMs[layer]! += performance.now() - t;
        hidden = out!.hidden;
        token = out!.summary.prediction;
      }
      steps++;
      if (token === model.manifest.tokens.eos) break;
    }
  }
  await model.dispose();
  const round = (x: number) => Number(x.toFixed(4));
  return {
    unit: "ms",
    measuredWith: `onnxruntime-node, 1 intra-op thread, batch 1, mean per generated token over ${steps} tokens of ${Math.min(30, images.length)} of the ${source} (cross-attention keys/values included in each layer's first step)`,
    fixed: round(fixedMs / steps),
    exits: layerMs.map((ms) => round(ms / steps)),
  };
}

// Each image with its group: the file name, not the path on this machine (the log is committed
// with the bundle); an image's variants share its group.
const inputs: { image: Buffer | string; group: string }[] = [];
for (const [k, image] of images.entries()) {
  if (typeof image !== "string") inputs.push({ image, group: `image-${k + 1}` });
  else if (variants === 1) inputs.push({ image, group: basename(image) });
  else
    for (const variant of VARIANTS.slice(0, variants)) {
      const picture = await variantImage(image, basename(image), variant);
      inputs.push({ image: await picture.png().toBuffer(), group: basename(image) });
    }
}
const captioner = await Captioner.load(dir);
const samples = [];
for (const { image, group } of inputs)
  for (const sample of await captioner.exitLog([image])) samples.push({ ...sample, group });
await captioner.dispose();
writeFileSync(
  join(dir, "calibration-exits.jsonl"),
  samples.map((s) => formatSummaryLogLine(s, { digits: 5 })).join("\n") + "\n",
);
const builder = new ExitTableBuilder();
samples.forEach((s, i) =>
  builder.addSummaries(s.label, s.summaries, `token ${i + 1}`, manifest.vocabSize, s.group),
);
const costs = foldFixedCost(manifest.costs.exits as number[], manifest.costs.fixed as number);
const policy = calibrate(builder.build(), { rule: "beem-a", lambda: Number(values.lambda), costs });
writeFileSync(join(dir, "policy.json"), serializePolicy(policy));
manifest.policy = "policy.json";
manifest.calibrationLog = "calibration-exits.jsonl";
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
const c = policy.calibration!;
console.log(
  `${samples.length} tokens of ${source}: exit accuracies (agreement with the last exit) ${c.exitAccuracies.map((a) => a.toFixed(3)).join(", ")}; ` +
    `policy: agreement ${c.accuracy.toFixed(4)}, mean exit ${c.meanExitLayer.toFixed(2)}, counted speed-up ${c.countedSpeedup.toFixed(2)}x`,
);
