import { policySweepTable } from "@beem-ts/bench";
import { readExitLog } from "@beem-ts/runtime";
import { CALIBRATION_RULES, sweep } from "@beem-ts/core";
import { numberList, oneOf, options, parse, required } from "../args.js";
import { createProgress } from "../progress.js";
import type { Command } from "../command.js";

const usage = `Usage: beem sweep --calibrate CAL.jsonl --test TEST.jsonl [--rules R1,R2] [--lambdas X1,X2] [--json | --csv]
  --calibrate FILE   labelled exit log the thresholds are fitted on
  --test FILE        labelled exit log the results are reported on
  --rules LIST       default beem-a,beem-c,maxprob,entropy,patience
  --lambdas LIST     default 0,0.005,0.01,0.02,0.05,0.1
  --costs C1,C2,...  per-exit costs (default: equal layers)
  --json | --csv     machine-readable output (default: a table)
  --no-progress      never draw the progress bar (drawn on a terminal only)`;

export const sweepCommand: Command = {
  name: "sweep",
  summary: "calibrate every rule at every lambda and report on a test log",
  usage,
  async run(argv, io) {
    const { values } = parse(
      argv,
      options("calibrate test rules lambdas costs", "json csv no-progress"),
      usage,
    );
    const rules = (values.rules ?? "beem-a,beem-c,maxprob,entropy,patience")
      .split(",")
      .map((r) => oneOf(r.trim(), "--rules", CALIBRATION_RULES));
    const lambdas = numberList(values.lambdas ?? "0,0.005,0.01,0.02,0.05,0.1", "--lambdas", 0)!;
    const costs = numberList(values.costs, "--costs", 0);
    const calibration = await readExitLog(required(values.calibrate, "--calibrate", usage));
    const test = await readExitLog(required(values.test, "--test", usage));
    const progress = createProgress(
      "sweep",
      values["no-progress"] === true ? { enabled: false } : {},
    );
    const result = sweep(calibration, test, {
      rules,
      lambdas,
      ...(costs && { costs }),
      onProgress: (done, total) => progress.update(done, total),
    });
    progress.finish();
    if (values.json === true) {
      const rows = result.rows.map(({ policy: _policy, ...row }) => row);
      return io.stdout(JSON.stringify({ rows }, null, 2) + "\n");
    }
    io.stdout(policySweepTable(result.rows, values.csv === true ? "csv" : "text"));
  },
};
