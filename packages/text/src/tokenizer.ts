// The bundle's tokenizer, read from its tokenizer.json with @xenova/transformers' tokenizer
// classes (the files are the ones AutoTokenizer loads from a local folder).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BertTokenizer } from "@xenova/transformers/src/tokenizers.js";
import { bundleError } from "./errors.js";
import type { TextManifest } from "./manifest.js";

export interface Encoded {
  readonly ids: readonly number[];
  /** Whether the text was cut to the model's maximum length (its last token kept). */
  readonly truncated: boolean;
}

export interface TextTokenizer {
  encode(text: string): Encoded;
}

export async function loadTokenizer(dir: string, manifest: TextManifest): Promise<TextTokenizer> {
  const read = async (file: string): Promise<unknown> => {
    const path = join(dir, file);
    try {
      return JSON.parse(await readFile(path, "utf8"));
    } catch (cause) {
      throw bundleError(`${path}: cannot read the tokenizer (${(cause as Error).message})`, cause);
    }
  };
  const tokenizer = new BertTokenizer(
    await read(manifest.tokenizer.file),
    await read(manifest.tokenizer.config),
  );
  const max = manifest.maxLength;
  return {
    encode(text) {
      const ids = tokenizer.encode(text);
      if (ids.length <= max) return { ids, truncated: false };
      return { ids: [...ids.slice(0, max - 1), ids[ids.length - 1]!], truncated: true };
    },
  };
}
