import { policyEvaluationSummary } from "@beem-ts/bench";
import { writeFileAtomic } from "@beem-ts/jobs";
import { readExitLog, readPolicy } from "@beem-ts/runtime";
import { evaluatePolicy } from "@beem-ts/core";
import { options, parse, required } from "../args.js";
import type { Command } from "../command.js";

const usage = `Usage: beem evaluate --exits TEST.jsonl --policy policy.json [--json] [--decisions OUT.jsonl]
  --exits FILE      labelled exit log to replay the policy on
  --policy FILE     a policy from "beem calibrate" or written by hand
  --json            print one JSON object
  --decisions FILE  write {"exitLayer", "prediction"} per sample (exit layer 1-based)`;

export const evaluateCommand: Command = {
  name: "evaluate",
  summary: "replay a policy on a labelled exit log: accuracy and speed-up",
  usage,
  async run(argv, io) {
    const { values } = parse(argv, options("exits policy decisions", "json"), usage);
    const policy = await readPolicy(required(values.policy, "--policy", usage));
    const table = await readExitLog(required(values.exits, "--exits", usage));
    const evaluation = evaluatePolicy(policy, table);
    const { decisions, report, exitAccuracies, risk } = evaluation;
    if (values.decisions !== undefined) {
      const lines = Array.from(decisions.exitLayers, (layer, j) =>
        JSON.stringify({ exitLayer: layer, prediction: decisions.predictions[j] }),
      );
      await writeFileAtomic(values.decisions, lines.join("\n") + "\n");
    }
    if (values.json === true) {
      const json = { rule: policy.rule, ...report, exitAccuracies, ...(risk && { risk }) };
      return io.stdout(JSON.stringify(json) + "\n");
    }
    io.stdout(policyEvaluationSummary(evaluation));
  },
};
