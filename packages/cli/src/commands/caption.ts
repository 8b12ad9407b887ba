import { textTable } from "@beem-ts/bench";
import { BeemError } from "@beem-ts/core";
import { Captioner, MAX_BEAMS, type CaptionResult, type CaptionToken } from "@beem-ts/caption";
import {
  JobsError,
  captionCollection,
  describeResultsRun,
  expandImagePaths,
  openResults,
  stopOnSignals,
  uniqueByRealPath,
} from "@beem-ts/jobs";
import { options, integerOption, numberOption, parse } from "../args.js";
import { UsageError } from "../cli-error.js";
import { POLICY_OPTIONS, POLICY_USAGE, defaultCaptionModel, policyChoice } from "../models.js";
import type { Command, CommandIo } from "../command.js";
import { createProgress } from "../progress.js";

const usage = `Usage: beem caption IMAGE_OR_FOLDER [...] [--out FILE.jsonl [--resume [--repair]]] [--json] [--stream] [--beams N] [--batch N] [--rule R --lambda X | --policy FILE | --full] [--max-tokens N] [--model DIR]
  Captions images, deciding per generated token at which decoder layer to stop. Folders are
  walked for image files (symbolic links leaving the folder are not followed).
  --out FILE      write one JSON line per image to FILE as each is done (image, caption, tokens
                  with exit layers, timings, model, policy; an unreadable image as a line with
                  its error), with a progress bar on a terminal
  --resume        with --out: skip the images already in FILE (matched by real path: relative or
                  absolute, through links) and carry on; the summary counts lines for images
                  no longer there (they are kept). FILE.lock keeps a second run off FILE (a lock
                  left by a run that is gone is taken over)
  --repair        with --resume: move unreadable lines of FILE to FILE.rejected and carry on
  --json          one JSON object per image (caption, tokens with exit layers, timings)
  --stream        print tokens as they are decided, each with its exit layer
  --beams N       beam search with N beams (default 1: greedy; at most ${MAX_BEAMS})
  --batch N       caption N images at a time as one batch (default 1); timings are the batch's
${POLICY_USAGE}
  --max-tokens N  most tokens per caption (default: the model's maximum)
  --model DIR     a caption bundle (default: models/photo-caption)
  An image that cannot be read is reported and the others are still captioned (exit status 1).`;

/** How each caption is shown: a table, JSON, the end of a --stream line, or not (--out). */
type Shown = "table" | "json" | "stream" | "none";

function print(io: CommandIo, image: string, r: CaptionResult, how: Shown, L: number): void {
  // The end token costs layers like any token and counts in the mean exit layer, so it is shown:
  // `exitLayers` holds one layer per token, `endExitLayer` the end token's.
  if (how === "stream") {
    if (r.endExitLayer !== null) io.stdout(` (end)[${r.endExitLayer}]`);
    io.stdout(`  mean exit layer ${r.meanExitLayer.toFixed(2)}\n`);
  } else if (how === "json") {
    // `caption` as in the HTTP API and the --out lines; `text` is its deprecated old name.
    const { text, ...rest } = r;
    const exitLayers = r.tokens.map((t) => t.exitLayer);
    io.stdout(JSON.stringify({ image, caption: text, ...rest, exitLayers, text }) + "\n");
  } else if (how === "table") {
    const end = r.endExitLayer === null ? [] : [{ text: "(end)", exitLayer: r.endExitLayer }];
    const shown = [...r.tokens, ...end];
    io.stdout(
      `${image}: ${r.text}\n` +
        textTable(
          ["token", ...shown.map((t) => t.text)],
          [["exit", ...shown.map((t) => `${t.exitLayer}/${L}`)]],
        ) +
        `mean exit layer ${r.meanExitLayer.toFixed(2)} of ${L} (end token included), ${r.timings.totalMs.toFixed(1)} ms\n`,
    );
  }
}

/** An argument as a POSIX shell reads it back. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/** The --out file, its lock taken; one holding results without --resume is a usage error. */
function openOut(out: string, values: { resume?: boolean; repair?: boolean }, io: CommandIo) {
  try {
    return openResults(out, {
      resume: values.resume === true,
      repair: values.repair === true,
      names: { resume: "--resume", repair: "--repair", file: "--out" },
      log: (line) => io.stderr(`beem caption: ${line}\n`),
    });
  } catch (error) {
    if (error instanceof JobsError && error.code === "RESULTS_EXIST")
      throw new UsageError(error.message);
    throw error;
  }
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
        ...options("beams batch max-tokens model out", "json stream resume repair"),
      },
      usage,
    );
    if (positionals.length === 0) throw new UsageError(`Give at least one image\n${usage}`);
    if (values.resume === true && values.out === undefined)
      throw new UsageError("--resume carries on an --out file; give --out FILE");
    if (values.out !== undefined && values.stream === true)
      throw new UsageError("--stream prints tokens as they come; drop it with --out");
    const beams = integerOption(values.beams, "--beams", 1, 1, MAX_BEAMS);
    const batch = integerOption(values.batch, "--batch", 1, 1);
    if (values.stream === true && batch > 1)
      throw new UsageError("--stream captions one image at a time; drop --batch");
    const captionOptions = {
      ...(await policyChoice(values)),
      beams,
      ...(values["max-tokens"] !== undefined && {
        maxTokens: numberOption(values["max-tokens"], "--max-tokens", 0, 1),
      }),
    };
    if (values.repair === true && values.resume !== true)
      throw new UsageError("--repair goes with --out FILE --resume");
    const log = (line: string) => io.stderr(`beem caption: ${line}\n`);
    const walked = expandImagePaths(positionals, { onSkipped: log });
    const results = values.out === undefined ? undefined : openOut(values.out, values, io);
    // With --out, each image once however it was named (relative, absolute, through a link).
    const all = results === undefined ? walked : uniqueByRealPath(walked);
    const images = results === undefined ? all : all.filter((image) => !results.has(image));
    const skipped = all.length - images.length; // already in the --out file
    const captioner = await Captioner.load(values.model ?? defaultCaptionModel());
    const progress = createProgress("beem caption", {
      enabled: results !== undefined,
      lines: true,
    });
    // Ctrl-C or SIGTERM on a folder run: finish the group in hand, then say how far it got and
    // how to carry on; a second signal stops at once (the file stays resumable).
    const stop = stopOnSignals(results === undefined ? [] : ["SIGINT", "SIGTERM"], (signal) =>
      process.exit(signal === "SIGINT" ? 130 : 143),
    );
    const stream = values.stream === true;
    const how: Shown = results ? "none" : stream ? "stream" : values.json ? "json" : "table";
    const run = await captionCollection(captioner, images, {
      batch,
      caption: captionOptions,
      ...(results !== undefined && { results }),
      onResult: (image, r) => print(io, image, r, how, captioner.numExits),
      onError: (image, error) => {
        if (stream) io.stdout("\n");
        log(`${image}: error [${error.code}]: ${error.message}`);
      },
      ...(stream && {
        onStart: (image: string) => io.stdout(`${image}:`),
        onToken: (_: string, t: CaptionToken) => io.stdout(` ${t.text}[${t.exitLayer}]`),
      }),
      onProgress: (done, total) => progress.update(done, total),
      shouldStop: stop.shouldStop,
    }).finally(async () => {
      stop.dispose();
      progress.finish();
      results?.close();
      await captioner.dispose();
    });
    if (values.out !== undefined) {
      const context = { out: values.out, total: images.length, skipped, signal: stop.signal };
      const summary = describeResultsRun(run, { ...context, gone: results?.gone });
      if (stop.signal !== undefined) {
        const again = argv.includes("--resume") ? argv : [...argv, "--resume"];
        const command = `pnpm beem caption ${again.map(shellQuote).join(" ")}`;
        throw new BeemError("INTERRUPTED", `${summary[0]} To continue:\n  ${command}`);
      }
      summary.forEach(log);
    }
    if (run.failed.length > 0)
      throw new BeemError(
        "IMAGES_FAILED",
        `${run.failed.length} of ${images.length} images could not be captioned`,
      );
  },
};
