import { writeFileAtomic } from "@beem-ts/jobs";
import { readExitLog } from "@beem-ts/runtime";
import {
  CALIBRATION_RULES,
  unalias,
  GROUP_LOSSES,
  RISK_LOSSES,
  describeFit,
  fitPolicy,
  serializePolicy,
} from "@beem-ts/core";
import {
  numberList,
  numberOption,
  oneOf,
  openUnitOption,
  options,
  parse,
  required,
} from "../args.js";
import { UsageError } from "../cli-error.js";
import type { Command } from "../command.js";

const usage = `Usage: beem calibrate --exits CAL.jsonl --rule RULE [--lambda X | --max-loss E [--delta D] [--loss L] [--group-loss G]] [--out policy.json]
  --exits FILE       labelled exit log (JSON Lines: {"label", "exits" | "logits" | "summaries",
                     optional "group"})
  --rule RULE        ${CALIBRATION_RULES.join(", ")} (beem = beem-a)
  --lambda X         cost parameter, J = error + X * cost (default 0)
  --max-loss E       instead of --lambda: the fastest policy of RULE whose loss is at most E
                     with probability at least 1 - D over the draw of the log (Learn-then-Test
                     with Hoeffding-Bentkus p-values; half the log, at most 10,000 lines, fits
                     the candidate policies and the rest tests them)
  --delta D          with --max-loss (default 0.1)
  --loss L           with --max-loss: ${RISK_LOSSES.join(" (default) or ")}: the answer differs
                     from the last exit's, or the last exit is right and the answer wrong
  --group-loss G     with --max-loss, for a log whose lines carry "group" (a caption log: the
                     tokens of one image): groups, not lines, are the samples, each scored by
                     the ${GROUP_LOSSES.join(" (default) or ")} of its lines' losses
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
      options("exits rule lambda max-loss delta loss group-loss costs reset thresholds out"),
      usage,
    );
    const rule = oneOf(
      unalias(required(values.rule, "--rule", usage)),
      "--rule",
      CALIBRATION_RULES,
    );
    const lambda = numberOption(values.lambda, "--lambda", 0, 0);
    const maxLoss = openUnitOption(values["max-loss"], "--max-loss");
    const delta = openUnitOption(values.delta, "--delta");
    const loss = oneOf(values.loss, "--loss", RISK_LOSSES);
    if (maxLoss !== undefined && values.lambda !== undefined)
      throw new UsageError("Give either --lambda or --max-loss, not both");
    const groupLoss = oneOf(values["group-loss"], "--group-loss", GROUP_LOSSES);
    if (maxLoss === undefined && (delta !== undefined || loss !== undefined || groupLoss))
      throw new UsageError("--delta, --loss and --group-loss go with --max-loss");
    const costs = numberList(values.costs, "--costs", 0);
    const reset = oneOf(values.reset, "--reset", ["current", "zero"]);
    const thresholds = oneOf(values.thresholds, "--thresholds", ["per-exit", "shared"]);
    const table = await readExitLog(required(values.exits, "--exits", usage));
    const { policy, warning } = fitPolicy(table, {
      rule,
      lambda,
      ...(maxLoss !== undefined && { maxLoss }),
      ...(delta !== undefined && { delta }),
      ...(loss && { loss }),
      ...(groupLoss && { groupLoss }),
      ...(costs && { costs }),
      ...(reset && { reset }),
      ...(thresholds && { thresholds }),
    });
    if (warning !== undefined) io.stderr(`beem calibrate: warning: ${warning}\n`);
    const text = serializePolicy(policy);
    if (values.out === undefined) return io.stdout(text);
    await writeFileAtomic(values.out, text);
    io.stderr(`${describeFit(policy, rule)} -> ${values.out}\n`);
  },
};
