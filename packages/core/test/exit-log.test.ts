import { describe, expect, it } from "vitest";
import {
  BeemError,
  createExitTable,
  evaluate,
  formatExitLogLine,
  formatSummaryLogLine,
  parseExitLog,
  softmax,
} from "../src/index.js";

function failure(text: string): BeemError {
  try {
    parseExitLog(text, { source: "cal.jsonl" });
  } catch (e) {
    if (e instanceof BeemError) return e;
    throw e;
  }
  throw new Error("expected parseExitLog to throw");
}

const good = '{"label": 0, "exits": [[0.9, 0.1], [0.8, 0.2]]}';

describe("exit logs", () => {
  it("reads probabilities, soft-maxes logits, and skips blank lines", () => {
    const table = parseExitLog(`${good}\n\n{"label": 1, "logits": [[0, 2], [1, -1]]}\n`);
    expect(table).toMatchObject({ numSamples: 2, numExits: 2, numClasses: 2 });
    expect(Array.from(table.predictions)).toEqual([0, 0, 1, 0]);
    expect(table.confidences[2]).toBeCloseTo(softmax([0, 2])[1]!, 12);
  });

  it("writes lines it reads back", () => {
    const sample = {
      label: 1,
      exits: [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    };
    const table = parseExitLog(formatExitLogLine(sample));
    expect(table.labels[0]).toBe(1);
    expect(Array.from(table.confidences)).toEqual([0.75, 0.5]);
  });

  it.each([
    ["{not json", /cal\.jsonl:1: not valid JSON/],
    [
      `${good}\n{"label": 0, "exits": [[0.9, 0.1]]}`,
      /cal\.jsonl:2: has 1 exits but the first sample has 2/,
    ],
    [
      `${good}\n{"label": 0, "exits": [[0.9, 0.1], [0.5, 0.25, 0.25]]}`,
      /cal\.jsonl:2: field "exits\[1\]" has 3 values but 2 classes/,
    ],
    [
      '{"label": 0, "exits": [[0.9, null], [0.5, 0.5]]}',
      /cal\.jsonl:1: field "exits\[0\]" has a non-finite value at index 1/,
    ],
    ['{"label": 0, "exits": [[0.9, 0.3], [0.5, 0.5]]}', /field "exits\[0\]" sums to 1\.2/],
    [
      '{"label": 0, "exits": [[1.5, -0.5], [0.5, 0.5]]}',
      /field "exits\[0\]" has 1\.5 at index 0, outside \[0, 1\]/,
    ],
    ['{"label": -1, "exits": [[0.5, 0.5]]}', /field "label" must be an integer >= 0 but is -1/],
    [
      '{"label": 2, "exits": [[0.5, 0.5]]}',
      /field "label" must be an integer in \[0, 1\] but is 2/,
    ],
    ['{"label": 0}', /give exactly one of the fields "exits", "logits" and "summaries"/],
    ['{"label": 0, "logits": [[1, "a"]]}', /field "logits\[0\]" has a non-finite value/],
    ['{"label": 0, "exits": []}', /field "exits" must be a non-empty array/],
    ["\n\n", /cal\.jsonl: the exit log has no samples/],
  ])("rejects bad input with file, line and field: %j", (text, message) => {
    const e = failure(text);
    expect(e.code).toBe("INVALID_EXIT_LOG");
    expect(e.message).toMatch(message);
  });
});

describe("evaluation report", () => {
  it("counts accuracy, exits and speed-ups as worked out by hand", () => {
    // Three samples, three exits; maxprob at 0.8 stops sample 1 at exit 1, sample 2 at exit 2,
    // sample 3 runs to exit 3.
    const table = createExitTable([
      {
        label: 0,
        exits: [
          [0.9, 0.1],
          [0.9, 0.1],
          [0.9, 0.1],
        ],
      },
      {
        label: 1,
        exits: [
          [0.6, 0.4],
          [0.15, 0.85],
          [0.7, 0.3],
        ],
      },
      {
        label: 1,
        exits: [
          [0.6, 0.4],
          [0.7, 0.3],
          [0.6, 0.4],
        ],
      },
    ]);
    const r = evaluate(
      { version: 1, rule: "maxprob", numExits: 3, thresholds: [0.8, 0.8], costs: [2, 1, 1] },
      table,
    );
    expect(r.exitCounts).toEqual([1, 1, 1]);
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.finalAccuracy).toBeCloseTo(1 / 3, 12);
    expect(r.meanExitLayer).toBeCloseTo(2, 12);
    expect(r.countedSpeedup).toBeCloseTo(1.5, 12);
    // cost fractions 0.5, 0.75, 1 -> mean 0.75
    expect(r.costSpeedup).toBeCloseTo(4 / 3, 12);
  });
});

describe("summary logs (large vocabularies)", () => {
  it("reads [prediction, confidence, entropy] per exit, as probability logs would give", () => {
    const probs = parseExitLog('{"label": 1, "exits": [[0.3, 0.7], [0.1, 0.9]]}');
    const h = (p: number[]) => -p.reduce((s, x) => s + x * Math.log(x), 0);
    const line = formatSummaryLogLine({
      label: 1,
      summaries: [
        { prediction: 1, confidence: 0.7, entropy: h([0.3, 0.7]) },
        { prediction: 1, confidence: 0.9, entropy: h([0.1, 0.9]) },
      ],
    });
    const summaries = parseExitLog(line);
    expect(Array.from(summaries.predictions)).toEqual(Array.from(probs.predictions));
    summaries.entropies.forEach((e, i) => expect(e).toBeCloseTo(probs.entropies[i]!, 5));
  });

  it("rejects malformed summaries naming the entry", () => {
    expect(() =>
      parseExitLog('{"label": 0, "summaries": [[0, 1.5, 0]]}', { source: "s.jsonl" }),
    ).toThrow(
      /s\.jsonl:1: field "summaries\[0\]" must be \[prediction, confidence in \[0, 1\], entropy >= 0\]/,
    );
  });
});

describe("grouped lines", () => {
  it("reads a group per line, numbered by first appearance, and writes it back", () => {
    const line = (group: string) =>
      formatSummaryLogLine({
        label: 0,
        group,
        summaries: [{ prediction: 0, confidence: 0.9, entropy: 0.3 }],
      });
    expect(line("a")).toMatch(/"group":"a"/);
    const table = parseExitLog([line("b"), line("a"), line("b")].join("\n"));
    expect(Array.from(table.groups!)).toEqual([0, 1, 0]);
    expect(formatExitLogLine({ label: 1, exits: [[0.3, 0.7]], group: "img.png" })).toBe(
      '{"label":1,"exits":[[0.3,0.7]],"group":"img.png"}',
    );
    expect(parseExitLog('{"label": 1, "exits": [[0.3, 0.7]]}').groups).toBeUndefined();
  });

  it("rejects a group that is not a non-empty string, and a log that mixes grouped and not", () => {
    expect(failure('{"label": 0, "exits": [[0.5, 0.5]], "group": 3}').message).toMatch(
      /cal\.jsonl:1: field "group" must be a non-empty string but is 3/,
    );
    expect(
      failure(
        '{"label": 0, "exits": [[0.5, 0.5]], "group": "a"}\n{"label": 0, "exits": [[0.5, 0.5]]}',
      ).message,
    ).toMatch(/cal\.jsonl:2: has no field "group" but earlier lines do/);
  });
});
