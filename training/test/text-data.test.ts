// The recipe checks its data and names the line.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { basicTokens, readLabelledJsonl } from "../text/data.js";

const dir = mkdtempSync(join(tmpdir(), "beem-data-"));
function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

describe("recipe data checks", () => {
  it("reads good rows", () => {
    const rows = readLabelledJsonl(
      file("ok.jsonl", '{"text": "fine film", "label": 1}\n\n{"text": "bad", "label": 0}\n'),
      2,
    );
    expect(rows.map((r) => r.label)).toEqual([1, 0]);
  });

  it.each([
    ["missing.jsonl", null, /missing\.jsonl: file not found/],
    [
      "label.jsonl",
      '{"text": "a", "label": 1}\n{"text": "b", "label": 3}\n',
      /label\.jsonl:2: field "label" must be an integer in \[0, 1\] but is 3/,
    ],
    [
      "empty.jsonl",
      '{"text": "  ", "label": 1}\n',
      /empty\.jsonl:1: field "text" must be a non-empty string/,
    ],
    ["json.jsonl", '{"text": "a", "label": 1}\n{oops\n', /json\.jsonl:2: not valid JSON/],
  ])("rejects %s", (name, text, message) => {
    const path = text === null ? join(dir, name) : file(name, text);
    expect(() => readLabelledJsonl(path, 2)).toThrow(message);
  });

  it("pre-tokenises as BERT does: lower case, accents stripped, punctuation split", () => {
    expect(basicTokens("Clichés, RE-made!")).toEqual(["cliches", ",", "re", "-", "made", "!"]);
  });
});
