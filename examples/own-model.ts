// Reuse the BEEM core with a model of your own: log every exit's output on labelled
// calibration data, fit a policy, then run new inputs exit by exit and stop when told to.
//   pnpm --filter @beem-ts/examples own-model
//
// "Your model" here is a small anytime classifier written out in full: it reads 64 noisy
// readings of a signal whose level is -0.4, 0 or +0.4 (three classes) and after each stage
// (having read 4, 8, 16, 32, 48, 64 readings) its exit gives class probabilities from the mean
// so far. Later stages read more, so they cost more and are right more often. Replace `stages`
// with your network's layers and their exit heads.
import {
  calibrate,
  createDecider,
  createExitTable,
  formatExitLogLine,
  seededRandom,
  type ExitSample,
} from "@beem-ts/core";

const LEVELS = [-0.4, 0, 0.4];
const READ_UP_TO = [4, 8, 16, 32, 48, 64]; // readings consumed by the end of each stage

interface Input {
  readonly readings: Float64Array;
  readonly label: number;
}

function makeInputs(count: number, seed: number): Input[] {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: count }, () => {
    const label = Math.floor(random() * LEVELS.length);
    const readings = Float64Array.from({ length: 64 }, () => LEVELS[label]! + gaussian());
    return { readings, label };
  });
}

/** Stage i: reads its share of the readings, returns its exit's class probabilities. */
function stage(input: Input, i: number, state: { sum: number }): number[] {
  for (let k = i === 0 ? 0 : READ_UP_TO[i - 1]!; k < READ_UP_TO[i]!; k++)
    state.sum += input.readings[k]!;
  const n = READ_UP_TO[i]!;
  const mean = state.sum / n;
  const logits = LEVELS.map((level) => (-n * (mean - level) ** 2) / 2);
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

// 1. Log every exit on labelled calibration inputs (a JSON line per input is the portable form:
//    `beem calibrate --exits log.jsonl` reads the same thing).
const calibration: ExitSample[] = makeInputs(3000, 1).map((input) => {
  const state = { sum: 0 };
  return { label: input.label, exits: READ_UP_TO.map((_, i) => stage(input, i, state)) };
});
console.log(`calibration log line: ${formatExitLogLine(calibration[0]!, { digits: 3 })}`);

// 2. Fit BEEM-A thresholds; costs are each stage's readings, so lambda prices them right.
const costs = READ_UP_TO.map((n, i) => n - (i === 0 ? 0 : READ_UP_TO[i - 1]!));
const policy = calibrate(createExitTable(calibration), { rule: "beem-a", lambda: 0.1, costs });

// 3. New inputs, exit by exit: stop computing as soon as the decider says so.
const decider = createDecider(policy);
let correct = 0;
let correctFull = 0;
let readings = 0;
const test = makeInputs(2000, 2);
for (const input of test) {
  const run = decider.begin();
  const state = { sum: 0 };
  let decision = run.step(stage(input, 0, state));
  while (!decision.exit) decision = run.step(stage(input, decision.layer, state));
  readings += READ_UP_TO[decision.layer - 1]!;
  if (decision.prediction === input.label) correct++;
  const fullState = { sum: 0 };
  let last: number[] = [];
  for (let i = 0; i < READ_UP_TO.length; i++) last = stage(input, i, fullState);
  if (last.indexOf(Math.max(...last)) === input.label) correctFull++;
}
console.log(
  `early exit: accuracy ${(correct / test.length).toFixed(3)} reading ${(readings / test.length).toFixed(1)} of 64 values on average`,
);
console.log(`full depth: accuracy ${(correctFull / test.length).toFixed(3)} reading 64 of 64`);
