import { writeFileAtomic } from "@beem-ts/jobs";
import { join } from "node:path";
import { generateScenes, writeSceneImages } from "@beem-ts/scenes";
import { numberOption, oneOf, options, parse, required } from "../args.js";
import { createProgress } from "../progress.js";
import type { Command } from "../command.js";

const usage = `Usage: beem scenes --count N --seed S --out DIR [--start I] [--format png|jpeg|webp] [--max-objects 4]
  Renders synthetic captioning scenes (emoji on varied backgrounds) into DIR, with
  DIR/scenes.jsonl holding each scene's layout and five reference captions.
  The same seed and index give the same scene on every machine.`;

export const scenesCommand: Command = {
  name: "scenes",
  summary: "render synthetic captioning scenes with reference captions",
  usage,
  async run(argv, io) {
    const { values } = parse(argv, options("count seed start out format max-objects"), usage);
    const count = numberOption(required(values.count, "--count", usage), "--count", 0, 1);
    const seed = numberOption(required(values.seed, "--seed", usage), "--seed", 0, 0);
    const start = numberOption(values.start, "--start", 0, 0);
    const format = oneOf(values.format ?? "png", "--format", ["png", "jpeg", "webp"]);
    const maxObjects = numberOption(values["max-objects"], "--max-objects", 4, 1);
    const out = required(values.out, "--out", usage);
    const scenes = generateScenes(seed, count, { start, maxObjects });
    const progress = createProgress("scenes");
    const onProgress = (done: number, total: number) => progress.update(done, total);
    const written = await writeSceneImages(scenes, out, { format, onProgress });
    progress.finish();
    const lines = written.map((scene) => JSON.stringify(scene));
    await writeFileAtomic(join(out, "scenes.jsonl"), lines.join("\n") + "\n");
    io.stderr(`${scenes.length} scenes -> ${out}\n`);
  },
};
