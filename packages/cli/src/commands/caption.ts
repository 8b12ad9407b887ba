import { BeemError } from "@beem-ts/core";
import {
  Captioner,
  MAX_BEAMS,
  type BatchCaption,
  type CaptionResult,
  type PreparedImage,
} from "@beem-ts/caption";
import { integerOption, numberOption, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import { textTable } from "../format.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultCaptionModel, policyChoice } from "../models.js";
import type { Command, CommandIo } from "../command.js";

const usage = `Usage: beem caption IMAGE [IMAGE ...] [--json] [--stream] [--beams N] [--batch N] [--rule R --lambda X | --policy FILE | --full] [--max-tokens N] [--model DIR]
  Captions images, deciding per generated token at which decoder layer to stop.
  --json          one JSON object per image (caption, tokens with exit layers, timings)
  --stream        print tokens as they are decided, each with its exit layer
  --beams N       beam search with N beams (default 1: greedy; at most ${MAX_BEAMS})
  --batch N       caption N images at a time as one batch (default 1); timings are the batch's
${POLICY_USAGE}
  --max-tokens N  most tokens per caption (default: the model's maximum)
  --model DIR     a caption bundle (default: models/caption-beem)
  An image that cannot be read is reported and the others are still captioned (exit status 1).`;

function print(io: CommandIo, image: string, r: CaptionResult, json: boolean, L: number): void {
  if (json) {
    io.stdout(JSON.stringify({ image, ...r }) + "\n");
    return;
  }
  io.stdout(
    `${image}: ${r.text}\n` +
      textTable(
        ["token", ...r.tokens.map((t) => t.text)],
        [["exit", ...r.tokens.map((t) => `${t.exitLayer}/${L}`)]],
      ) +
      `mean exit layer ${r.meanExitLayer.toFixed(2)} of ${L}, ${r.timings.totalMs.toFixed(1)} ms\n`,
  );
}

export const captionCommand: Command = {
  name: "caption",
  summary: "caption images with per-token early exit",
  usage,
  async run(argv, io) {
    const { values, positionals } = parse(
      argv,
      {
        ...POLICY_OPTIONS,
        json: { type: "boolean" },
        stream: { type: "boolean" },
        beams: { type: "string" },
        batch: { type: "string" },
        "max-tokens": { type: "string" },
        model: { type: "string" },
      },
      usage,
    );
    if (positionals.length === 0) throw new UsageError(`Give at least one image\n${usage}`);
    const beams = integerOption(values.beams, "--beams", 1, 1, MAX_BEAMS);
    const batch = integerOption(values.batch, "--batch", 1, 1);
    if (values.stream === true && batch > 1)
      throw new UsageError("--stream captions one image at a time; drop --batch");
    const options = {
      ...(await policyChoice(values)),
      beams,
      ...(values["max-tokens"] !== undefined && {
        maxTokens: numberOption(values["max-tokens"], "--max-tokens", 0, 1),
      }),
    };
    const captioner = await Captioner.load(values.model ?? defaultCaptionModel());
    const failed: string[] = [];
    const report = (image: string, error: BeemError) => {
      failed.push(image);
      io.stderr(`beem caption: ${image}: error [${error.code}]: ${error.message}\n`);
    };
    // The next group's images are decoded (sharp, off the main thread) while the current group
    // goes through the model.
    type Prepared = { ok: true; image: PreparedImage } | { ok: false; error: BeemError };
    const prepare = (group: readonly string[]): Promise<Prepared[]> =>
      Promise.all(
        group.map((file) =>
          captioner.prepare(file).then(
            (image): Prepared => ({ ok: true, image }),
            (error: unknown): Prepared => {
              if (error instanceof BeemError) return { ok: false, error };
              throw error;
            },
          ),
        ),
      );
    let upcoming: Promise<Prepared[]> | undefined;
    try {
      const L = captioner.numExits;
      for (let start = 0; start < positionals.length; start += batch) {
        const group = positionals.slice(start, start + batch);
        if (values.stream === true) {
          const image = group[0]!;
          try {
            io.stdout(`${image}:`);
            for await (const token of captioner.stream(image, options)) {
              io.stdout(` ${token.text}[${token.exitLayer}]`);
            }
            io.stdout("\n");
          } catch (error) {
            if (!(error instanceof BeemError)) throw error;
            io.stdout("\n");
            report(image, error);
          }
          continue;
        }
        const prepared = await (upcoming ?? prepare(group));
        const following = positionals.slice(start + batch, start + 2 * batch);
        upcoming = following.length > 0 ? prepare(following) : undefined;
        upcoming?.catch(() => undefined); // awaited (and thrown) on the next round
        const ready = prepared.flatMap((p) => (p.ok ? [p.image] : []));
        const captions: BatchCaption[] =
          ready.length === 0
            ? []
            : ready.length === 1
              ? [{ ok: true, result: await captioner.caption(ready[0]!, options) }]
              : await captioner.captionBatch(ready, options);
        let next = 0;
        const results = prepared.map((p): BatchCaption => (p.ok ? captions[next++]! : p));
        results.forEach((r, i) => {
          if (r.ok) print(io, group[i]!, r.result, values.json === true, L);
          else report(group[i]!, r.error);
        });
      }
    } finally {
      await captioner.dispose();
    }
    if (failed.length > 0) {
      throw new BeemError(
        "IMAGES_FAILED",
        `${failed.length} of ${positionals.length} images could not be captioned`,
      );
    }
  },
};
