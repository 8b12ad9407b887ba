import { Captioner } from "@beem-ts/caption";
import { numberOption, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import { textTable } from "../format.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultCaptionModel, policyChoice } from "../models.js";
import type { Command } from "../command.js";

const usage = `Usage: beem caption IMAGE [IMAGE ...] [--json] [--stream] [--rule R --lambda X | --policy FILE | --full] [--max-tokens N] [--model DIR]
  Captions images, deciding per generated token at which decoder layer to stop.
  --json          one JSON object per image (caption, tokens with exit layers, timings)
  --stream        print tokens as they are decided, each with its exit layer
${POLICY_USAGE}
  --max-tokens N  most tokens per caption (default: the model's maximum)
  --model DIR     a caption bundle (default: models/caption-beem)`;

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
        "max-tokens": { type: "string" },
        model: { type: "string" },
      },
      usage,
    );
    if (positionals.length === 0) throw new UsageError(`Give at least one image\n${usage}`);
    const options = {
      ...(await policyChoice(values)),
      ...(values["max-tokens"] !== undefined && {
        maxTokens: numberOption(values["max-tokens"], "--max-tokens", 0, 1),
      }),
    };
    const captioner = await Captioner.load(values.model ?? defaultCaptionModel());
    try {
      const L = captioner.numExits;
      for (const image of positionals) {
        if (values.stream === true) {
          io.stdout(`${image}:`);
          for await (const token of captioner.stream(image, options))
            io.stdout(` ${token.text}[${token.exitLayer}]`);
          io.stdout("\n");
          continue;
        }
        const r = await captioner.caption(image, options);
        if (values.json === true) {
          io.stdout(JSON.stringify({ image, ...r }) + "\n");
          continue;
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
    } finally {
      await captioner.dispose();
    }
  },
};
