// Benchmark: every rule at several lambdas on SST-2 dev, batch 1, with accuracy, counted and
// measured (wall-clock) speed-up against full depth (the bundle's fused graph, as
// `classify({ full: true })` runs it) timed in the same rounds.
//
//   pnpm --filter @beem-ts/text bench [--data DEV.jsonl] [--rounds 3] [--out DIR]
//
// Thresholds come from the bundle's calibration log (never from dev). Each round times full
// depth once and every policy once, in that order; a policy's measured speed-up is the median
// over rounds of full-depth time / its time. Tokenisation is included.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { median, type CalibrationRule, type Policy } from "@beem-ts/core";
import { TextClassifier, readLabelledTexts } from "../src/index.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: resolve(import.meta.dirname, "../../../models/sst2-beem") },
    data: {
      type: "string",
      default: resolve(import.meta.dirname, "../../../../shared/data/text/sst2/dev.jsonl"),
    },
    rounds: { type: "string", default: "3" },
    lambdas: { type: "string", default: "0,0.01,0.05,0.1,0.2,0.5" },
    out: { type: "string" },
  },
});
const RULES: CalibrationRule[] = ["beem-a", "beem-c", "maxprob", "entropy", "patience"];
const lambdas = values.lambdas.split(",").map(Number);
const rounds = Number(values.rounds);
const classifier = await TextClassifier.load(values.model);
const data = await readLabelledTexts(values.data, classifier.labels.length);
const texts = data.map((d) => d.text);
const L = classifier.numExits;

const configs: { rule: string; lambda: number | null; policy: Policy }[] = [];
for (const rule of RULES) {
  for (const lambda of lambdas)
    configs.push({ rule, lambda, policy: await classifier.policyFor({ rule, lambda }) });
}
const full = { rule: "full", lambda: null, policy: await classifier.policyFor({ full: true }) };

async function time(policy: Policy) {
  const t = performance.now();
  const results = await classifier.classify(texts, { policy });
  return { ms: performance.now() - t, results };
}

const ratios = configs.map(() => [] as number[]);
const fullTimes: number[] = [];
const outcome = new Map<number, Awaited<ReturnType<typeof time>>["results"]>();
await time(full.policy); // warm-up
for (let r = 0; r < rounds; r++) {
  const f = await time(full.policy);
  fullTimes.push(f.ms);
  if (r === 0) outcome.set(-1, f.results);
  for (let c = 0; c < configs.length; c++) {
    const e = await time(configs[c]!.policy);
    ratios[c]!.push(f.ms / e.ms);
    if (r === 0) outcome.set(c, e.results);
  }
  process.stderr.write(`round ${r + 1}/${rounds} done\n`);
}
await classifier.dispose();

const accuracy = (rs: { labelId: number }[]) =>
  rs.filter((x, i) => x.labelId === data[i]!.label).length / data.length;
const meanExit = (rs: { exitLayer: number }[]) =>
  rs.reduce((s, x) => s + x.exitLayer, 0) / rs.length;
const rows = [
  {
    rule: "full",
    lambda: "-",
    accuracy: accuracy(outcome.get(-1)!),
    meanExit: L,
    counted: 1,
    measured: 1,
  },
  ...configs.map((c, i) => ({
    rule: c.rule,
    lambda: String(c.lambda),
    accuracy: accuracy(outcome.get(i)!),
    meanExit: meanExit(outcome.get(i)!),
    counted: L / meanExit(outcome.get(i)!),
    measured: median(ratios[i]!),
  })),
];
const md =
  `SST-2 dev (${data.length} sentences), batch 1, ${rounds} rounds; full depth (${classifier.fusedFullDepth ? "fused graph" : "layer by layer"}) ${median(fullTimes).toFixed(0)} ms per pass (median)\n\n` +
  "| rule | lambda | accuracy | mean exit | counted speed-up | measured speed-up | measured / counted |\n" +
  "| --- | --- | --- | --- | --- | --- | --- |\n" +
  rows
    .map(
      (r) =>
        `| ${r.rule} | ${r.lambda} | ${r.accuracy.toFixed(4)} | ${r.meanExit.toFixed(2)} | ${r.counted.toFixed(2)}x | ${r.measured.toFixed(2)}x | ${((100 * r.measured) / r.counted).toFixed(0)}% |`,
    )
    .join("\n") +
  "\n";
const csv =
  "rule,lambda,accuracy,meanExit,countedSpeedup,measuredSpeedup\n" +
  rows
    .map((r) => [r.rule, r.lambda, r.accuracy, r.meanExit, r.counted, r.measured].join(","))
    .join("\n") +
  "\n";
process.stdout.write(md);
if (values.out !== undefined) {
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, "rules-lambdas.md"), md);
  writeFileSync(join(values.out, "rules-lambdas.csv"), csv);
}
