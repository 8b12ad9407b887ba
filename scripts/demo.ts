// The README's main job: caption the bundled example photo with the bundled photo captioner,
// showing the decoder layer at which each word exited.
import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { Captioner } from "@beem-ts/caption";

const root = resolve(import.meta.dirname, "..");
const model = resolve(root, "models/photo-caption");
const image = resolve(root, "examples/images/pets.jpg");

if (!existsSync(resolve(model, "manifest.json"))) {
  console.log(`No captioning model is bundled yet (${model} has no manifest.json).`);
  console.log(
    'Train one with `pnpm train:photo-caption`; meanwhile try `pnpm beem classify "a gorgeous, witty film"`.',
  );
} else {
  const captioner = await Captioner.load(model);
  try {
    // Warm-up: the first run of each graph is slower.
    await captioner.caption(image);
    await captioner.caption(image, { full: true });
    const early = await captioner.caption(image);
    const full = await captioner.caption(image, { full: true });
    const L = captioner.numExits;
    console.log(`${relative(root, image)}\n`);
    console.log(`early exit: "${early.text}"`);
    // The end token costs layers too, so it is shown and counted in the mean.
    const end = early.endExitLayer === null ? "" : ` (end)[${early.endExitLayer}]`;
    console.log(`  ${early.tokens.map((t) => `${t.text}[${t.exitLayer}]`).join(" ")}${end}`);
    console.log(
      `  mean exit layer ${early.meanExitLayer.toFixed(2)} of ${L}, ${early.timings.totalMs.toFixed(1)} ms`,
    );
    const how = captioner.fusedFullDepth ? "one fused graph" : "layer by layer";
    console.log(`full depth (${how}): "${full.text}" (${full.timings.totalMs.toFixed(1)} ms)`);
  } finally {
    await captioner.dispose();
  }
}
