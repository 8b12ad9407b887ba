// The converter's tokenising step: texts to token ids with the checkpoint's own tokenizer, run by
// transformers.js exactly as the text runtime runs it (class from tokenizer_config.json, the
// runtime's truncation), so that the exit heads train on the ids they will see.
// Usage: tsx tokenize-texts.ts --hf DIR --max-length N --texts FILE --out FILE [--labels N]
//   --texts: one text per line (blank lines skipped); with --labels N, JSON Lines of
//   {"text", "label"} with labels 0..N-1. Writes JSON Lines of {"ids"} (and "label").
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadTokenizer } from "@beem-ts/runtime";
import { readLabelledTexts, truncateIds } from "@beem-ts/text";

const { values } = parseArgs({
  options: {
    hf: { type: "string" },
    "max-length": { type: "string" },
    texts: { type: "string" },
    out: { type: "string" },
    labels: { type: "string" },
  },
});
const fail = (message: string): never => {
  console.error(`error: ${message}`);
  process.exit(1);
};
const { hf, texts: path, out } = values;
if (
  hf === undefined ||
  path === undefined ||
  out === undefined ||
  values["max-length"] === undefined
)
  fail("Usage: tokenize-texts.ts --hf DIR --max-length N --texts FILE --out FILE [--labels N]");
const max = Number(values["max-length"]);

async function readRows(): Promise<{ text: string; label?: number }[]> {
  if (values.labels !== undefined) return readLabelledTexts(path!, Number(values.labels));
  let content: string;
  try {
    content = await readFile(path!, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(
      `${path}: ${code === "ENOENT" ? "file not found" : `cannot read the file (${code})`}`,
    );
  }
  return content
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((text) => ({ text }));
}

try {
  const rows = await readRows();
  if (rows.length === 0) fail(`${path}: no texts in the file`);
  const tokenizer = await loadTokenizer(hf!, {
    file: "tokenizer.json",
    config: "tokenizer_config.json",
  });
  let truncated = 0;
  const lines = rows.map((row) => {
    const encoded = truncateIds(tokenizer.encode(row.text), max);
    if (encoded.truncated) truncated++;
    return JSON.stringify({
      ids: encoded.ids,
      ...(row.label !== undefined && { label: row.label }),
    });
  });
  await writeFile(out!, lines.join("\n") + "\n");
  console.error(`${path}: ${rows.length} texts tokenised (${truncated} cut to ${max} tokens)`);
} catch (error) {
  fail((error as Error).message);
}
