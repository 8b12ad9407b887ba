import { CALIBRATION_RULES, calibrate, serializePolicy } from "@beem-ts/core";
import { numberList, numberOption, oneOf, parse, required } from "../args.js";
import { readExitLog, writeFileAtomic } from "../files.js";
import type { Command } from "../command.js";

const usage = `Usage: beem calibrate --exits CAL.jsonl --rule RULE [--lambda X] [--out policy.json]
  --exits FILE       labelled exit log (JSON Lines: {"label", "exits" | "logits"})
  --rule RULE        ${CALIBRATION_RULES.join(", ")}
  --lambda X         cost parameter, J = error + X * cost (default 0)
  --costs C1,C2,...  per-exit costs, exit 1 first (default: equal layers)
  --reset MODE       BEEM: "current" (default) or "zero" on disagreement
  --thresholds MODE  "per-exit" (default for BEEM) or "shared" (default for baselines)
  --out FILE         write the policy there (default: standard output)`;

export const calibrateCommand: Command = {
  name: "calibrate",
  summary: "fit an exit policy on a labelled exit log",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      {
        exits: { type: "string" },
        rule: { type: "string" },
        lambda: { type: "string" },
        costs: { type: "string" },
        reset: { type: "string" },
        thresholds: { type: "string" },
        out: { type: "string" },
      },
      usage,
    );
    const rule = oneOf(required(values.rule, "--rule", usage), "--rule", CALIBRATION_RULES);
    const lambda = numberOption(values.lambda, "--lambda", 0, 0);
    const costs = numberList(values.costs, "--costs", 0);
    const reset =
      values.reset === undefined ? undefined : oneOf(values.reset, "--reset", ["current", "zero"]);
    const thresholds =
      values.thresholds === undefined
        ? undefined
        : oneOf(values.thresholds, "--thresholds", ["per-exit", "shared"]);
    const table = await readExitLog(required(values.exits, "--exits", usage));
    const policy = calibrate(table, {
      rule,
      lambda,
      ...(costs && { costs }),
      ...(reset && { reset }),
      ...(thresholds && { thresholds }),
    });
    const text = serializePolicy(policy);
    if (values.out === undefined) {
      io.stdout(text);
      return;
    }
    await writeFileAtomic(values.out, text);
    const c = policy.calibration!;
    io.stderr(
      `${rule} at lambda ${lambda} on ${c.samples} samples: accuracy ${c.accuracy.toFixed(4)} ` +
        `(final exit ${c.finalAccuracy.toFixed(4)}), mean exit ${c.meanExitLayer.toFixed(2)} of ${table.numExits}, ` +
        `counted speed-up ${c.countedSpeedup.toFixed(2)}x -> ${values.out}\n`,
    );
  },
};
