import { resolve } from "node:path";
import { Captioner, SKIPPED_LAYER_FILLS } from "@beem-ts/caption";
import { TJS_DEFAULT_THREADS, captionEvalSummary, evaluateCaptions } from "@beem-ts/bench";
import { options, integerOption, oneOf, parse } from "../args.js";
import {
  CAPTION_SET_OPTIONS,
  captionSetUsage,
  openCaptionSet,
  tjsDirFor,
} from "../caption-set-options.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";
import { POLICY_OPTIONS, POLICY_USAGE, evalCaptionModel, policyChoice } from "../models.js";
import { createProgress } from "../progress.js";

const usage = `Usage: beem caption-eval (--data FILE [--split test] | --scenes N [--seed 1000]) [--rule R --lambda X | --policy FILE] [--repeats 3] [--batch B] [--beams K] [--json] [--no-tjs]
  Captions held-out scenes, or one split of a caption data set, with early exit, at full depth
  in the fused graph (the model run the ordinary way: the baseline) and at full depth layer by
  layer, scores them against their references, and times them side by side: every image
  captioned all three ways back to back (order rotated; image decoding and encoder included),
  each speed-up the median over --repeats passes of the ratio of the passes' times.
  transformers.js' image-to-text pipeline on the same weights is timed against early exit and
  fused full depth in blocks of 25 images, --repeats passes. Also reports where tokens exit:
  by image difficulty and by word class (and for scenes, by number of objects and for scenes
  named right or not). With --data, also: a nearest-neighbour baseline (consensus re-ranking
  over the k training photos closest by the captioner's encoder features, k chosen on the dev
  split), human agreement (each reference against the other four, and the captions against
  the same four), and degenerate captions (cut at the length limit; a word three times in a
  row).
${captionSetUsage()}
  --nn-k K        the nearest-neighbour baseline's k (default: the best on the dev split)
${POLICY_USAGE}
  --model DIR     caption bundle (default: models/photo-caption; with --scenes, models/caption-beem)
  --tjs DIR       transformers.js export of the same weights (default: made from the bundle
                  into ~/.cache/beem/tjs by training/common/export_tjs.py; needs Python
                  with onnx, else the comparison is left out with a note)
  --fill F        how skipped layers get their keys/values: deferred (default) or eager
  --batch B       also time early exit on batches of B images (captionBatch) against one image
                  at a time: "batch" in the report
  --beams K       also caption with beam search of width K, early and at full depth: quality
                  and time against greedy decoding ("beams" in the report)
  --tjs-threads N intra-op threads of transformers.js' sessions (default 0: its own default, the
                  fastest measured here)
  --no-tjs        skip the transformers.js timing`;

export const captionEvalCommand: Command = {
  name: "caption-eval",
  summary: "caption quality and measured speed-up of early exit on held-out scenes",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        ...POLICY_OPTIONS,
        ...CAPTION_SET_OPTIONS,
        ...options("nn-k repeats batch beams model tjs tjs-threads fill", "json no-tjs"),
      },
      usage,
    );
    const repeats = integerOption(values.repeats, "--repeats", 3, 1);
    const batch =
      values.batch === undefined ? undefined : integerOption(values.batch, "--batch", 1, 2);
    const beams =
      values.beams === undefined ? undefined : integerOption(values.beams, "--beams", 1, 2, 16);
    const tjsThreadsOption = integerOption(
      values["tjs-threads"],
      "--tjs-threads",
      TJS_DEFAULT_THREADS ?? 0,
      0,
    );
    const modelDir = resolve(values.model ?? evalCaptionModel(values.scenes));
    const choice = await policyChoice(values);
    const fill = oneOf(values.fill ?? "deferred", "--fill", SKIPPED_LAYER_FILLS);
    if (choice.full === true) {
      throw new UsageError("caption-eval compares early exit with full depth: drop --full");
    }
    const nnK =
      values["nn-k"] === undefined ? undefined : integerOption(values["nn-k"], "--nn-k", 1, 1);
    if (nnK !== undefined && values.data === undefined)
      throw new UsageError("--nn-k goes with --data");
    const set = await openCaptionSet(values);
    const captioner = await Captioner.load(modelDir);
    try {
      const tjsDir = await tjsDirFor(modelDir, values, io.stderr);
      const progress = createProgress("caption-eval");
      const report = await evaluateCaptions(captioner, set, {
        policy: choice,
        fill,
        repeats,
        batch,
        beams,
        transformersJs:
          tjsDir === undefined
            ? undefined
            : { dir: tjsDir, threads: tjsThreadsOption === 0 ? undefined : tjsThreadsOption },
        nnK,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.finish();
      io.stdout(
        values.json === true
          ? JSON.stringify(report) + "\n"
          : captionEvalSummary(report, captioner.numExits),
      );
    } finally {
      await captioner.dispose();
      await set.remove();
    }
  },
};
