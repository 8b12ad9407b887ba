// Benchmark of risk-controlled thresholds (core's calibrateRisk, Learn-then-Test):
//
//   pnpm --filter @beem-ts/bench bench:risk [--draws 1000] [--scenes 200] [--repeats 3] [--json]
//
// 1. Validity: synthetic logs from a known distribution (6 exits, 3 classes), `--draws`
//    independent calibration logs of 600 lines; the chosen policy's true loss is measured on
//    20,000 fresh lines. The fraction of draws over epsilon must stay at most delta (+ SE).
// 2. Speed: calibrateRisk of each rule on a 100,000-line synthetic log (median of 3).
// 3. Usefulness on the bundled models: thresholds from each bundle's calibration log only (SST-2:
//    its calibration split of train; captions: scenes of seed 3); realised per-line disagreement
//    with full depth on data never used to fit (SST-2 dev; `--scenes` held-out scenes of seed
//    1000, teacher-forced exit logs), at epsilon 0.01 and 0.02, delta 0.1, BEEM-A. Beside it, the
//    best lambda policy whose realised loss is also within epsilon (an oracle that looked at the
//    reporting data, for comparison only). Counted speed-up from the logs; measured speed-up
//    against fused full depth, timed side by side (median of --repeats passes).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Captioner } from "@beem-ts/caption";
import {
  CALIBRATION_RULES,
  RISK_PATH_LAMBDAS,
  calibrate,
  calibrateRisk,
  createExitTable,
  createLossMeter,
  evaluate,
  generateSyntheticExits,
  median,
  parseExitLog,
  type ExitTable,
  type Policy,
} from "@beem-ts/core";
import { TextClassifier, readLabelledTexts } from "@beem-ts/text";
import { ExitTableBuilder } from "@beem-ts/core";
import { pairedSpeedup, timeWays, writeScenes } from "../src/index.js";

const MODELS = resolve(import.meta.dirname, "../../../models");
/** The bundled SST-2 model, or $BEEM_TEXT_MODEL (as the beem command picks it). */
const defaultTextModel = () => process.env.BEEM_TEXT_MODEL ?? resolve(MODELS, "sst2-beem");
/** The bundled photo captioner, or $BEEM_CAPTION_MODEL. */
const defaultCaptionModel = () =>
  process.env.BEEM_CAPTION_MODEL ?? resolve(MODELS, "photo-caption");

const { values } = parseArgs({
  options: {
    draws: { type: "string", default: "1000" },
    scenes: { type: "string", default: "200" },
    repeats: { type: "string", default: "3" },
    data: {
      type: "string",
      default: resolve(import.meta.dirname, "../../../../shared/data/text/sst2/dev.jsonl"),
    },
    json: { type: "boolean", default: false },
  },
});
const draws = Number(values.draws);
const repeats = Number(values.repeats);
const EPSILONS = [0.01, 0.02];
const DELTA = 0.1;
const log = (line: string) => process.stderr.write(line + "\n");
const synthetic = (samples: number, seed: number): ExitTable =>
  createExitTable(generateSyntheticExits({ samples, exits: 6, classes: 3, seed }));

// 1. Validity.
const truth = synthetic(20_000, 99);
const validity = [];
for (const [rule, loss, epsilon] of [
  ["beem-a", "disagreement", 0.05],
  ["maxprob", "disagreement", 0.05],
  ["beem-a", "error", 0.05],
] as const) {
  const meter = createLossMeter(truth, loss);
  let violations = 0;
  let early = 0;
  for (let d = 0; d < draws; d++) {
    const { policy } = calibrateRisk(synthetic(600, 1000 + d), {
      rule,
      maxLoss: epsilon,
      delta: DELTA,
      loss,
    });
    if (meter(policy) > epsilon) violations++;
    if (policy.rule !== "final") early++;
  }
  const row = {
    rule,
    loss,
    epsilon,
    delta: DELTA,
    draws,
    violationRate: violations / draws,
    standardError: Math.sqrt((DELTA * (1 - DELTA)) / draws),
    certifiedEarlyExit: early / draws,
  };
  validity.push(row);
  log(`validity ${JSON.stringify(row)}`);
}

// 2. Speed on a 100,000-line log.
const big = synthetic(100_000, 5);
const speed: Record<string, number> = {};
for (const rule of CALIBRATION_RULES.filter((r) => r !== "static" && r !== "final")) {
  const ms: number[] = [];
  for (let r = 0; r < 3; r++) {
    const started = performance.now();
    calibrateRisk(big, { rule, maxLoss: 0.02 });
    ms.push(performance.now() - started);
  }
  speed[rule] = median(ms);
  log(`100,000 lines, ${rule}: ${speed[rule]!.toFixed(0)} ms`);
}

// 3. Usefulness on the bundled models.
interface Usefulness {
  readonly task: string;
  readonly epsilon: number;
  readonly risk: { lambda: number | null; realisedLoss: number; counted: number; measured: number };
  readonly bestLambda: { lambda: number; realisedLoss: number; counted: number; measured: number };
}

/** The risk policy and the best lambda policy within epsilon on the reporting log. */
function choose(cal: ExitTable, report: ExitTable, costs: readonly number[] | undefined) {
  const meter = createLossMeter(report, "disagreement");
  return EPSILONS.map((epsilon) => {
    const risk = calibrateRisk(cal, {
      rule: "beem-a",
      maxLoss: epsilon,
      delta: DELTA,
      ...(costs && { costs }),
    }).policy;
    let best: { policy: Policy; lambda: number; counted: number } | undefined;
    for (const lambda of RISK_PATH_LAMBDAS) {
      const policy = calibrate(cal, { rule: "beem-a", lambda, ...(costs && { costs }) });
      if (meter(policy) > epsilon) continue;
      const counted = evaluate(policy, report).countedSpeedup;
      if (best === undefined || counted > best.counted) best = { policy, lambda, counted };
    }
    return { epsilon, risk, best: best!, meter };
  });
}

const usefulness: Usefulness[] = [];
{
  const classifier = await TextClassifier.load(defaultTextModel());
  const dir = defaultTextModel();
  const m = classifier.manifest;
  const cal = parseExitLog(readFileSync(resolve(dir, m.calibrationLog!), "utf8"));
  const dev = parseExitLog(readFileSync(resolve(dir, "dev-exits.jsonl"), "utf8"));
  const costs = m.costs
    ? m.costs.exits.map((c, i) => (i === 0 ? c + m.costs!.fixed : c))
    : undefined;
  const texts = (await readLabelledTexts(values.data, classifier.labels.length)).map((d) => d.text);
  for (const c of choose(cal, dev, costs)) {
    const ways = {
      full: { full: true },
      risk: { policy: c.risk },
      best: { policy: c.best.policy },
    };
    const ms: Record<string, number[]> = { full: [], risk: [], best: [] };
    const names = Object.keys(ways) as (keyof typeof ways)[];
    for (const n of names) await classifier.classify(texts.slice(0, 20), ways[n]);
    for (let r = 0; r < repeats; r++)
      for (let k = 0; k < names.length; k++) {
        const n = names[(k + r) % names.length]!;
        const started = performance.now();
        await classifier.classify(texts, ways[n]);
        ms[n]!.push(performance.now() - started);
      }
    const row: Usefulness = {
      task: "SST-2 dev",
      epsilon: c.epsilon,
      risk: {
        lambda: c.risk.riskControl!.lambda,
        realisedLoss: c.meter(c.risk),
        counted: evaluate(c.risk, dev).countedSpeedup,
        measured: pairedSpeedup(ms.risk!, ms.full!),
      },
      bestLambda: {
        lambda: c.best.lambda,
        realisedLoss: c.meter(c.best.policy),
        counted: c.best.counted,
        measured: pairedSpeedup(ms.best!, ms.full!),
      },
    };
    usefulness.push(row);
    log(`usefulness ${JSON.stringify(row)}`);
  }
  await classifier.dispose();
}
{
  const dir = defaultCaptionModel();
  const captioner = await Captioner.load(dir);
  const m = captioner.model.manifest;
  const cal = parseExitLog(readFileSync(resolve(dir, m.calibrationLog!), "utf8"));
  const set = await writeScenes({ count: Number(values.scenes), seed: 1000 });
  try {
    const builder = new ExitTableBuilder();
    for (const s of await captioner.exitLog(set.files))
      builder.addSummaries(s.label, s.summaries, undefined, m.vocabSize);
    const heldOut = builder.build();
    const costs = m.costs
      ? m.costs.exits.map((c, i) => (i === 0 ? c + m.costs!.fixed : c))
      : undefined;
    for (const c of choose(cal, heldOut, costs)) {
      const t = await timeWays(
        captioner,
        set.files,
        { full: { full: true }, risk: { policy: c.risk }, best: { policy: c.best.policy } },
        { repeats },
      );
      const row: Usefulness = {
        task: `captions, ${set.files.length} held-out scenes`,
        epsilon: c.epsilon,
        risk: {
          lambda: c.risk.riskControl!.lambda,
          realisedLoss: c.meter(c.risk),
          counted: evaluate(c.risk, heldOut).countedSpeedup,
          measured: pairedSpeedup(t.risk.ms, t.full.ms),
        },
        bestLambda: {
          lambda: c.best.lambda,
          realisedLoss: c.meter(c.best.policy),
          counted: c.best.counted,
          measured: pairedSpeedup(t.best.ms, t.full.ms),
        },
      };
      usefulness.push(row);
      log(`usefulness ${JSON.stringify(row)}`);
    }
  } finally {
    await captioner.dispose();
    await set.remove();
  }
}

const report = { validity, calibrateRiskMsOn100kLines: speed, usefulness };
if (values.json === true) process.stdout.write(JSON.stringify(report) + "\n");
else {
  const f = (x: number) => x.toFixed(3);
  process.stdout.write(
    [
      "| task | epsilon | risk policy: lambda, realised loss, counted, measured | best lambda within epsilon: lambda, realised loss, counted, measured |",
      "| --- | --- | --- | --- |",
      ...usefulness.map(
        (u) =>
          `| ${u.task} | ${u.epsilon} | ${u.risk.lambda}, ${f(u.risk.realisedLoss)}, ${f(u.risk.counted)}x, ${f(u.risk.measured)}x | ${u.bestLambda.lambda}, ${f(u.bestLambda.realisedLoss)}, ${f(u.bestLambda.counted)}x, ${f(u.bestLambda.measured)}x |`,
      ),
    ].join("\n") + "\n",
  );
}
