import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExitTable, parseExitLog, replay, type Policy } from "@beem-ts/core";
import { TextClassifier } from "../src/index.js";
import { BUNDLE, DEV, bundlePresent, devPresent } from "./bundle.js";

const TEXTS = [
  "a gorgeous , witty , seductive movie .",
  "the worst film of the year , and not even in a fun way",
  "it 's not a bad film , but it never finds its footing",
  "an ambitious , moving portrait of a family",
  "mostly dull",
  "i could n't stop laughing , and i could n't stop thinking about it afterwards either",
];

describe.runIf(bundlePresent)("TextClassifier on the bundled model", () => {
  let classifier: TextClassifier;
  beforeAll(async () => {
    classifier = await TextClassifier.load(BUNDLE);
  });
  afterAll(async () => {
    await classifier.dispose();
  });

  it.runIf(devPresent)(
    "answers at full depth with PyTorch's final-exit probabilities (within 1e-4)",
    async () => {
      // dev-exits.jsonl was written by PyTorch at export time, dev lines in order.
      const log = readFileSync(join(BUNDLE, "dev-exits.jsonl"), "utf8")
        .split("\n")
        .slice(0, 40)
        .join("\n");
      const table = parseExitLog(log);
      const dev = readFileSync(DEV, "utf8")
        .split("\n")
        .slice(0, 40)
        .map((l) => JSON.parse(l).text as string);
      const results = await classifier.classify(dev, { full: true, batchSize: 8 });
      const L = classifier.numExits;
      results.forEach((r, j) => {
        expect(r.exitLayer).toBe(L);
        expect(r.labelId).toBe(table.predictions[j * L + L - 1]);
        expect(r.confidence).toBeCloseTo(table.confidences[j * L + L - 1]!, 4);
      });
    },
  );

  it("decides exactly as the core's replay of its own logged exits", async () => {
    const samples = await classifier.exitOutputs(TEXTS.map((text) => ({ text, label: 0 })));
    const decisions = replay(classifier.defaultPolicy, createExitTable(samples));
    const results = await classifier.classify(TEXTS);
    expect(results.map((r) => r.exitLayer)).toEqual(Array.from(decisions.exitLayers));
    expect(results.map((r) => r.labelId)).toEqual(Array.from(decisions.predictions));
  });

  it("gives the same answers in batches, where rows leave as they exit", async () => {
    const policy = await classifier.policyFor({ rule: "patience", lambda: 0 });
    const one = await classifier.classify(TEXTS, { policy, batchSize: 1 });
    const batched = await classifier.classify(TEXTS, { policy, batchSize: 4 });
    expect(batched.map((r) => [r.exitLayer, r.labelId])).toEqual(
      one.map((r) => [r.exitLayer, r.labelId]),
    );
    batched.forEach((r, i) => expect(r.confidence).toBeCloseTo(one[i]!.confidence, 5));
  });

  it("with every threshold at infinity runs every layer and answers as full depth", async () => {
    const closed: Policy = {
      version: 1,
      rule: "beem",
      weighting: "explicit",
      numExits: classifier.numExits,
      weights: Array(classifier.numExits).fill(1),
      reset: "current",
      thresholds: Array(classifier.numExits - 1).fill(null),
    };
    const early = await classifier.classify(TEXTS, { policy: closed, trace: true });
    const full = await classifier.classify(TEXTS, { full: true });
    expect(early.map((r) => r.exitLayer)).toEqual(TEXTS.map(() => classifier.numExits));
    expect(early.map((r) => r.labelId)).toEqual(full.map((r) => r.labelId));
    expect(early[0]!.trace).toHaveLength(classifier.numExits);
  });

  it("traces every computed exit, the last one being the answer", async () => {
    const r = await classifier.classify(TEXTS[2]!, { trace: true, lambda: 0 });
    expect(r.trace).toHaveLength(r.exitLayer);
    expect(r.trace!.at(-1)).toMatchObject({ layer: r.exitLayer, prediction: r.labelId });
  });

  it("fits other rules on the bundle's calibration log", async () => {
    const policy = await classifier.policyFor({ rule: "entropy", lambda: 0.05 });
    expect(policy).toMatchObject({ rule: "entropy", lambda: 0.05, numExits: classifier.numExits });
    expect((await classifier.classify(TEXTS[0]!, { policy })).label).toMatch(/positive|negative/);
  });

  it("truncates text over the maximum length, says so, and still answers", async () => {
    const long = Array(400).fill("good").join(" ");
    const r = await classifier.classify(long);
    expect(r.truncated).toBe(true);
    expect((await classifier.classify("good")).truncated).toBe(false);
  });

  it.each([
    [
      () => classifier.classify(["fine", " "]),
      /Expected texts\[1\] to be a non-empty string but received " "/,
    ],
    [() => classifier.classify(""), /Expected text to be a non-empty string/],
    [() => classifier.classify([]), /Expected at least one text/],
    [
      () => classifier.classify("x", { batchSize: 0 }),
      /Expected batchSize to be an integer >= 1 but received 0/,
    ],
    [() => classifier.classify("x", { rule: "magic" as never }), /Expected rule to be one of/],
    [
      () => classifier.classify("x", { lambda: -1 }),
      /Expected lambda to be a finite number >= 0 but received -1/,
    ],
    [
      () =>
        classifier.classify("x", {
          policy: { version: 1, rule: "maxprob", numExits: 3, thresholds: [0.9, 0.9] },
        }),
      /The policy is for 3 exits but the model has 6/,
    ],
  ])("rejects bad input clearly (%#)", async (call, message) => {
    await expect(call()).rejects.toThrow(message);
  });
});
