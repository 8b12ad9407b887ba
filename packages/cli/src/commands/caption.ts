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
import { expandImagePaths } from "../image-files.js";
import { createProgress } from "../progress.js";
import { errorRecord, openResults, realImagePath, resultRecord } from "../results-file.js";

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

function print(io: CommandIo, image: string, r: CaptionResult, json: boolean, L: number): void {
  // The end token costs layers like any token and counts in the mean exit layer, so it is shown:
  // `exitLayers` holds one layer per token, `endExitLayer` the end token's.
  if (json) {
    // `caption` as in the HTTP API and the --out lines; `text` is its deprecated old name.
    const { text, ...rest } = r;
    const exitLayers = r.tokens.map((t) => t.exitLayer);
    io.stdout(JSON.stringify({ image, caption: text, ...rest, exitLayers, text }) + "\n");
    return;
  }
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

/** The paths without repeats of the same file (compared by real path; missing ones as given). */
function uniqueByRealPath(paths: readonly string[]): string[] {
  const seen = new Set<string>();
  return paths.filter((path) => {
    const key = realImagePath(path) ?? path;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** An argument as a POSIX shell reads it back. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
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
        out: { type: "string" },
        resume: { type: "boolean" },
        repair: { type: "boolean" },
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
    const options = {
      ...(await policyChoice(values)),
      beams,
      ...(values["max-tokens"] !== undefined && {
        maxTokens: numberOption(values["max-tokens"], "--max-tokens", 0, 1),
      }),
    };
    if (values.repair === true && values.resume !== true)
      throw new UsageError("--repair goes with --out FILE --resume");
    const walked = expandImagePaths(positionals, {
      onSkipped: (line) => io.stderr(`beem caption: ${line}\n`),
    });
    const results =
      values.out === undefined
        ? undefined
        : openResults(values.out, {
            resume: values.resume === true,
            repair: values.repair === true,
          });
    if (results?.tookOverFrom !== undefined)
      io.stderr(
        `beem caption: took over the lock of ${values.out} left by process ${results.tookOverFrom}, which is no longer running\n`,
      );
    if (results !== undefined && results.repaired > 0)
      io.stderr(
        `beem caption: moved ${results.repaired} unreadable lines from ${values.out} to ${results.rejected}\n`,
      );
    // With --out, each image once however it was named (relative, absolute, through a link).
    const all = results === undefined ? walked : uniqueByRealPath(walked);
    const images = results === undefined ? all : all.filter((image) => !results.has(image));
    const captioner = await Captioner.load(values.model ?? defaultCaptionModel());
    const policy = await captioner.policyFor(options);
    const model = captioner.model.manifest.id;
    const progress = createProgress("beem caption", {
      enabled: results !== undefined,
      lines: true,
    });
    // Ctrl-C or SIGTERM on a folder run: finish the group in hand, then say how far it got and
    // how to carry on; a second signal stops at once (the file stays resumable).
    let interrupted: string | undefined;
    const onSignal = (signal: string) => () => {
      if (interrupted !== undefined) process.exit(signal === "SIGINT" ? 130 : 143);
      interrupted = signal;
    };
    const signals = results === undefined ? [] : (["SIGINT", "SIGTERM"] as const);
    const handlers = signals.map((signal) => [signal, onSignal(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    let done = 0;
    const failed: string[] = [];
    const counted = () =>
      `${done - failed.length} images captioned` +
      (failed.length > 0 ? `, ${failed.length} failed` : "");
    const report = (image: string, error: BeemError) => {
      failed.push(image);
      io.stderr(`beem caption: ${image}: error [${error.code}]: ${error.message}\n`);
      results?.write(errorRecord(image, error));
    };
    const emit = (image: string, r: CaptionResult) => {
      if (results === undefined) print(io, image, r, values.json === true, captioner.numExits);
      else results.write(resultRecord(image, r, model, policy));
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
      for (let start = 0; start < images.length && interrupted === undefined; start += batch) {
        const group = images.slice(start, start + batch);
        if (values.stream === true) {
          const image = group[0]!;
          try {
            io.stdout(`${image}:`);
            const tokens = captioner.stream(image, options);
            let next = await tokens.next();
            for (; next.done !== true; next = await tokens.next())
              io.stdout(` ${next.value.text}[${next.value.exitLayer}]`);
            const { endExitLayer, meanExitLayer } = next.value;
            if (endExitLayer !== null) io.stdout(` (end)[${endExitLayer}]`);
            io.stdout(`  mean exit layer ${meanExitLayer.toFixed(2)}\n`);
          } catch (error) {
            if (!(error instanceof BeemError)) throw error;
            io.stdout("\n");
            report(image, error);
          }
          continue;
        }
        const prepared = await (upcoming ?? prepare(group));
        const following = images.slice(start + batch, start + 2 * batch);
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
        const outcomes = prepared.map((p): BatchCaption => (p.ok ? captions[next++]! : p));
        outcomes.forEach((r, i) => {
          if (r.ok) emit(group[i]!, r.result);
          else report(group[i]!, r.error);
        });
        done += group.length;
        progress.update(done, images.length);
      }
    } finally {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      progress.finish();
      results?.close();
      await captioner.dispose();
    }
    if (interrupted !== undefined) {
      const again = argv.includes("--resume") ? argv : [...argv, "--resume"];
      throw new BeemError(
        "INTERRUPTED",
        `stopped by ${interrupted} after ${done} of ${images.length} images (${counted()})` +
          (images.length < all.length
            ? ` (${all.length - images.length} were already there)`
            : "") +
          `; ${values.out} holds every finished one. To continue:\n  pnpm beem caption ${again.map(shellQuote).join(" ")}`,
      );
    }
    if (results !== undefined) {
      io.stderr(
        `beem caption: ${counted()} into ${values.out}` +
          (images.length < all.length ? ` (${all.length - images.length} already there)` : "") +
          "\n",
      );
      if (results.gone.length > 0)
        io.stderr(
          `beem caption: ${values.out} has ${results.gone.length} lines for images no longer there ` +
            `(kept): ${results.gone.slice(0, 5).join(", ")}${results.gone.length > 5 ? ", ..." : ""}\n`,
        );
    }
    if (failed.length > 0) {
      throw new BeemError(
        "IMAGES_FAILED",
        `${failed.length} of ${images.length} images could not be captioned`,
      );
    }
  },
};
