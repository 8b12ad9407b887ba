// Exit-log measurements as tables, beem's cache folders, and the Python check of benchScale.
import { describe, expect, it } from "vitest";
import {
  createExitTable,
  evaluatePolicy,
  fitPolicy,
  generateSyntheticExits,
  sweep,
} from "@beem-ts/core";
import {
  BenchError,
  POLICY_SWEEP_COLUMNS,
  beemCacheDir,
  checkPython,
  policyEvaluationSummary,
  policySweepTable,
} from "../src/index.js";

const table = (seed: number) =>
  createExitTable(generateSyntheticExits({ samples: 400, exits: 4, classes: 3, seed }));

describe("policy tables", () => {
  it("a sweep: a header and one row per rule and lambda, as text or CSV", () => {
    const result = sweep(table(1), table(2), { rules: ["beem-a", "maxprob"], lambdas: [0, 0.05] });
    const lines = policySweepTable(result.rows, "csv").trim().split("\n");
    expect(lines[0]).toBe(POLICY_SWEEP_COLUMNS.map(([name]) => name).join(","));
    expect(lines).toHaveLength(1 + 4);
    const first = result.rows[0]!;
    expect(lines[1]!.split(",").slice(0, 2)).toEqual([first.rule, String(first.lambda)]);
    const text = policySweepTable(result.rows, "text").trim().split("\n");
    expect(text[0]).toMatch(/^rule +lambda +accuracy +final accuracy +mean exit/);
    expect(text.filter((line) => /^(beem|maxprob)/.test(line))).toHaveLength(4);
  });

  it("an evaluation: its figures, exit counts, each exit's accuracy and the risk bound", () => {
    const { policy } = fitPolicy(table(3), { rule: "beem-a", lambda: 0.02 });
    const evaluation = evaluatePolicy(policy, table(4));
    const text = policyEvaluationSummary(evaluation);
    expect(text).toContain(`exits: ${evaluation.report.exitCounts.join(" ")}\n`);
    expect(text).toContain(
      `each exit's accuracy: ${evaluation.exitAccuracies.map((a) => a.toFixed(4)).join(" ")}\n`,
    );
    expect(text.split("\n")[2]).toMatch(/^400 /);
    expect(text).not.toMatch(/loss/);
    const bounded = {
      ...evaluation,
      risk: { loss: "error", maxLoss: 0.1, delta: 0.2, realisedLoss: 0.05 },
    } as const;
    expect(policyEvaluationSummary(bounded)).toMatch(
      /error loss 0\.0500 \(bound 0\.1 with probability 0\.8\)\n$/,
    );
  });
});

describe("tools", () => {
  it("beemCacheDir: under $XDG_CACHE_HOME, else ~/.cache", () => {
    const saved = process.env.XDG_CACHE_HOME;
    try {
      process.env.XDG_CACHE_HOME = "/tmp/xdg";
      expect(beemCacheDir("bench-scale")).toBe("/tmp/xdg/beem/bench-scale");
      delete process.env.XDG_CACHE_HOME;
      expect(beemCacheDir("tjs")).toMatch(/\/\.cache\/beem\/tjs$/);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it("checkPython: PREREQUISITE_MISSING naming the Python and how to install one", () => {
    const saved = process.env.PYTHON;
    try {
      process.env.PYTHON = "/nonexistent/python3";
      const error = (() => {
        try {
          checkPython();
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(BenchError);
      expect(error).toMatchObject({ code: "PREREQUISITE_MISSING" });
      expect((error as Error).message).toMatch(/no Python at \/nonexistent\/python3; install/);
    } finally {
      if (saved === undefined) delete process.env.PYTHON;
      else process.env.PYTHON = saved;
    }
  });
});
