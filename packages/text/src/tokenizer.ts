// The bundle's tokenizer (the class tokenizer_config.json names), with the model's truncation.
import { loadTokenizer } from "@beem-ts/runtime";
import type { TextManifest } from "./manifest.js";

export interface Encoded {
  readonly ids: readonly number[];
  /** Whether the text was cut to the model's maximum length (its last token kept). */
  readonly truncated: boolean;
}

export interface TextTokenizer {
  encode(text: string): Encoded;
}

export async function loadTextTokenizer(
  dir: string,
  manifest: TextManifest,
): Promise<TextTokenizer> {
  const tokenizer = await loadTokenizer(dir, manifest.tokenizer);
  const max = manifest.maxLength;
  return { encode: (text) => truncateIds(tokenizer.encode(text), max) };
}

/**
 * Token ids cut to `max` the way Hugging Face truncates one sequence: the first tokens are kept,
 * and the last one (the closing special token, [SEP] for BERT) stays last.
 */
export function truncateIds(ids: readonly number[], max: number): Encoded {
  if (ids.length <= max) return { ids, truncated: false };
  return { ids: [...ids.slice(0, max - 1), ids[ids.length - 1]!], truncated: true };
}
