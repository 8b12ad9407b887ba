import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { beem, scratchDir } from "./run-beem.js";

const dir = scratchDir();
const cal = join(dir, "cal.jsonl");
const test = join(dir, "test.jsonl");

beforeAll(async () => {
  const a = await beem(
    ["synth", "--out", cal, "--samples", "5000", "--exits", "12", "--classes", "3", "--seed", "1"],
    dir,
  );
  const b = await beem(
    ["synth", "--out", test, "--samples", "5000", "--exits", "12", "--classes", "3", "--seed", "2"],
    dir,
  );
  expect([a.status, b.status]).toEqual([0, 0]);
});

describe("beem calibrate / evaluate / sweep on a 5,000 x 12 log", () => {
  it("calibrates a policy, then evaluates it with per-sample decisions", async () => {
    const c = await beem(
      [
        "calibrate",
        "--exits",
        "cal.jsonl",
        "--rule",
        "beem-a",
        "--lambda",
        "0.02",
        "--out",
        "policy.json",
      ],
      dir,
    );
    expect(c.status, c.stderr).toBe(0);
    const policy = JSON.parse(readFileSync(join(dir, "policy.json"), "utf8"));
    expect(policy).toMatchObject({
      version: 1,
      rule: "beem",
      weighting: "accuracy",
      reset: "current",
      lambda: 0.02,
      numExits: 12,
    });
    expect(policy.thresholds).toHaveLength(11);

    const e = await beem(
      [
        "evaluate",
        "--exits",
        "test.jsonl",
        "--policy",
        "policy.json",
        "--json",
        "--decisions",
        "d.jsonl",
      ],
      dir,
    );
    expect(e.status, e.stderr).toBe(0);
    const report = JSON.parse(e.stdout);
    for (const key of ["accuracy", "finalAccuracy", "meanExitLayer", "countedSpeedup"]) {
      expect(Number.isFinite(report[key]), key).toBe(true);
    }
    expect(report.exitCounts).toHaveLength(12);
    expect(report.exitAccuracies).toHaveLength(12);
    expect(report.exitAccuracies[11]).toBe(report.finalAccuracy);
    expect(report.countedSpeedup).toBeGreaterThan(1);
    const decisions = readFileSync(join(dir, "d.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(decisions).toHaveLength(5000);
    const counts = new Array(12).fill(0);
    for (const d of decisions) counts[d.exitLayer - 1]++;
    expect(counts).toEqual(report.exitCounts);
  });

  it("evaluates a policy written by hand, exactly as written", async () => {
    writeFileSync(
      join(dir, "hand.json"),
      JSON.stringify({
        version: 1,
        rule: "beem",
        weights: Array(12).fill(1),
        thresholds: Array(11).fill(0),
        reset: "current",
      }),
    );
    const e = await beem(
      ["evaluate", "--exits", "test.jsonl", "--policy", "hand.json", "--json"],
      dir,
    );
    expect(e.status, e.stderr).toBe(0);
    // Threshold 0 is always reached: everything stops at exit 1.
    expect(JSON.parse(e.stdout)).toMatchObject({ meanExitLayer: 1, countedSpeedup: 12 });
  });

  it("sweeps 5 rules x 6 lambdas into a table, JSON or CSV", async () => {
    const args = [
      "sweep",
      "--calibrate",
      "cal.jsonl",
      "--test",
      "test.jsonl",
      "--rules",
      "beem-a,beem-c,maxprob,entropy,patience",
      "--lambdas",
      "0,0.005,0.01,0.02,0.05,0.1",
    ];
    const json = await beem([...args, "--json"], dir);
    expect(json.status, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout).rows;
    expect(rows).toHaveLength(30);
    expect(rows.some((r: { pareto: boolean }) => r.pareto)).toBe(true);
    const csv = await beem([...args, "--csv"], dir);
    expect(csv.stdout.split("\n")[0]).toBe(
      "rule,lambda,accuracy,final accuracy,mean exit,counted speed-up,cost speed-up,cal accuracy,pareto",
    );
    expect(csv.stdout.trim().split("\n")).toHaveLength(31);
  });
});

describe("bad input: a clear message, a non-zero status, nothing half-written", () => {
  it("names the file, line and field of a bad log line and writes no policy", async () => {
    const lines = readFileSync(cal, "utf8").split("\n").slice(0, 5);
    lines[2] = lines[2]!.replace('"exits":[[', '"exits":[[7,');
    writeFileSync(join(dir, "bad.jsonl"), lines.join("\n"));
    const r = await beem(
      ["calibrate", "--exits", "bad.jsonl", "--rule", "beem-a", "--out", "never.json"],
      dir,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /bad\.jsonl:3: field "exits\[0\]" has 4 values but 3 classes were expected/,
    );
    expect(existsSync(join(dir, "never.json"))).toBe(false);
  });

  it("keeps an existing output file intact when calibration fails", async () => {
    writeFileSync(join(dir, "keep.json"), "precious");
    writeFileSync(
      join(dir, "ragged.jsonl"),
      '{"label":0,"exits":[[1,0],[1,0]]}\n{"label":0,"exits":[[1,0]]}\n',
    );
    const r = await beem(
      ["calibrate", "--exits", "ragged.jsonl", "--rule", "maxprob", "--out", "keep.json"],
      dir,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ragged\.jsonl:2: has 1 exits but the first sample has 2/);
    expect(readFileSync(join(dir, "keep.json"), "utf8")).toBe("precious");
  });

  it("takes --rule beem, the name its policies report, as beem-a", async () => {
    const fit = async (rule: string) => {
      const out = `policy-${rule}.json`;
      const r = await beem(
        ["calibrate", "--exits", "cal.jsonl", "--rule", rule, "--lambda", "0.02", "--out", out],
        dir,
      );
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(join(dir, out), "utf8")) as { rule: string };
    };
    const alias = await fit("beem");
    expect(alias.rule).toBe("beem");
    expect(alias).toEqual(await fit("beem-a"));
    const unknown = await beem(
      ["calibrate", "--exits", "cal.jsonl", "--rule", "beam", "--out", "x.json"],
      dir,
    );
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--rule.*beem-a.*"beam"/);
  });

  it("calibrates with a risk guarantee, and evaluate reports the realised loss", async () => {
    const c = await beem(
      [
        "calibrate",
        "--exits",
        "cal.jsonl",
        "--rule",
        "beem-a",
        "--max-loss",
        "0.05",
        "--delta",
        "0.1",
        "--out",
        "risk.json",
      ],
      dir,
    );
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/loss \(disagreement\) <= 0\.05 w\.p\. 0\.9/);
    const policy = JSON.parse(readFileSync(join(dir, "risk.json"), "utf8"));
    expect(policy.riskControl).toMatchObject({ epsilon: 0.05, delta: 0.1, loss: "disagreement" });
    expect(policy.riskControl.pValue).toBeLessThanOrEqual(0.1);
    const e = await beem(
      ["evaluate", "--exits", "test.jsonl", "--policy", "risk.json", "--json"],
      dir,
    );
    expect(e.status, e.stderr).toBe(0);
    const report = JSON.parse(e.stdout);
    expect(report.risk).toMatchObject({ loss: "disagreement", maxLoss: 0.05, delta: 0.1 });
    expect(report.risk.realisedLoss).toBeGreaterThanOrEqual(0);
    expect(report.risk.realisedLoss).toBeLessThanOrEqual(0.05);
    expect(report.countedSpeedup).toBeGreaterThan(1);
    // A log too small: full depth, with a warning naming the lines needed.
    writeFileSync(
      join(dir, "tiny.jsonl"),
      readFileSync(cal, "utf8").split("\n").slice(0, 50).join("\n"),
    );
    const tiny = await beem(
      ["calibrate", "--exits", "tiny.jsonl", "--rule", "maxprob", "--max-loss", "0.01"],
      dir,
    );
    expect(tiny.status, tiny.stderr).toBe(0);
    expect(tiny.stderr).toMatch(/warning: Running at full depth: .*at least 230 test lines/);
    expect(JSON.parse(tiny.stdout).rule).toBe("final");
  });

  it.each([
    [
      ["calibrate", "--exits", "cal.jsonl", "--rule", "beem-a", "--max-loss", "1"],
      2,
      /Expected --max-loss to be a number in \(0, 1\) but received "1"/,
    ],
    [
      [
        "calibrate",
        "--exits",
        "cal.jsonl",
        "--rule",
        "beem-a",
        "--max-loss",
        "0.1",
        "--delta",
        "0",
      ],
      2,
      /Expected --delta to be a number in \(0, 1\) but received "0"/,
    ],
    [
      [
        "calibrate",
        "--exits",
        "cal.jsonl",
        "--rule",
        "beem-a",
        "--max-loss",
        "0.1",
        "--lambda",
        "1",
      ],
      2,
      /Give either --lambda or --max-loss, not both/,
    ],
    [
      ["calibrate", "--exits", "cal.jsonl", "--rule", "beem-a", "--delta", "0.1"],
      2,
      /--delta, --loss and --group-loss go with --max-loss/,
    ],
    [
      ["calibrate", "--exits", "cal.jsonl", "--rule", "beem-a", "--lambda", "-1"],
      2,
      /Expected --lambda to be a finite number >= 0 but received "-1"/,
    ],
    [
      ["calibrate", "--exits", "cal.jsonl", "--rule", "beem-z"],
      2,
      /Expected --rule to be one of "beem-a", "beem-c"/,
    ],
    [
      ["calibrate", "--exits", "cal.jsonl", "--rule", "beem-a", "--lambda", "abc"],
      2,
      /--lambda to be a finite number/,
    ],
    [["calibrate", "--rule", "beem-a"], 2, /Missing --exits/],
    [
      ["calibrate", "--exits", "nope.jsonl", "--rule", "beem-a"],
      1,
      /nope\.jsonl: cannot read the file \(ENOENT\)/,
    ],
    [
      ["calibrate", "--exits", "cal.jsonl", "--rule", "beem-a", "--costs", "1,2"],
      1,
      /Expected costs to be an array of length 12/,
    ],
    [
      ["evaluate", "--exits", "cal.jsonl", "--policy", "v2.json"],
      1,
      /v2\.json: policy version 2 is not supported/,
    ],
    [
      ["evaluate", "--exits", "cal.jsonl", "--policy", "short.json"],
      1,
      /policy is for 3 exits but the log has 12/,
    ],
    [["frobnicate"], 2, /unknown command "frobnicate"/],
    [
      ["sweep", "--calibrate", "cal.jsonl", "--test", "test.jsonl", "--bogus"],
      2,
      /Unknown option '--bogus'/,
    ],
  ])("beem %j exits %i", async (args, status, message) => {
    writeFileSync(
      join(dir, "v2.json"),
      JSON.stringify({ version: 2, rule: "final", numExits: 12 }),
    );
    writeFileSync(
      join(dir, "short.json"),
      JSON.stringify({ version: 1, rule: "maxprob", thresholds: [0.9, 0.9] }),
    );
    const r = await beem(args, dir);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(message);
  });
});

describe("beem score", () => {
  it("prints corpus BLEU, ROUGE-L and CIDEr-D as JSON", async () => {
    writeFileSync(
      join(dir, "caps.json"),
      JSON.stringify({
        refs: { a: ["a dog", "a dog face"], b: ["a cat", "a black cat"] },
        cands: { a: "a dog", b: "a cat" },
      }),
    );
    const r = await beem(["score", "--input", "caps.json", "--json"], dir);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s)).toEqual(["bleu1", "bleu2", "bleu3", "bleu4", "rougeL", "ciderD"]);
    expect(s.rougeL).toBeCloseTo(1, 12);
  });

  it("names the file when the input is not what it expects", async () => {
    writeFileSync(join(dir, "nocands.json"), JSON.stringify({ refs: {} }));
    const r = await beem(["score", "--input", "nocands.json"], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nocands\.json: expected \{"refs"/);
  });
});
