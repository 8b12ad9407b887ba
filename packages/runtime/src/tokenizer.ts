// A bundle's tokenizer, chosen as Hugging Face's AutoTokenizer chooses it: by the
// `tokenizer_class` of tokenizer_config.json, through transformers.js' public API, with the
// steps where transformers.js differs from Hugging Face's tokenizers library put right
// (hf-steps.ts).
import { AutoTokenizer, PreTrainedTokenizer } from "@xenova/transformers";
import { bundleError, readBundleJson } from "./bundle.js";
import { alignWithHuggingFace } from "./hf-steps.js";

export type { PreTrainedTokenizer };

type TokenizerClass = new (tokenizerJson: unknown, config: unknown) => PreTrainedTokenizer;

/**
 * Reads `files.file` (tokenizer.json) and `files.config` (tokenizer_config.json) from the bundle
 * and builds the tokenizer class the config names ("BertTokenizer", "GPT2TokenizerFast", ...;
 * the "Fast" suffix is dropped). A class transformers.js does not know is INVALID_BUNDLE. Its
 * normaliser and pre-tokeniser follow Hugging Face's tokenizers library where transformers.js'
 * own differ (per-character lower-casing, every nonspacing mark stripped, ...: hf-steps.ts).
 */
export async function loadTokenizer(
  dir: string,
  files: { readonly file: string; readonly config: string },
): Promise<PreTrainedTokenizer> {
  const json = await readBundleJson(dir, files.file, "tokenizer");
  const config = (await readBundleJson(dir, files.config, "tokenizer config")) as {
    tokenizer_class?: unknown;
  };
  const name = config.tokenizer_class;
  const classes = AutoTokenizer.TOKENIZER_CLASS_MAPPING as unknown as Record<
    string,
    TokenizerClass
  >;
  const cls =
    name === undefined
      ? (PreTrainedTokenizer as unknown as TokenizerClass)
      : typeof name === "string"
        ? classes[name.replace(/Fast$/, "")]
        : undefined;
  if (cls === undefined) {
    throw bundleError(
      `${dir}/${files.config}: field "tokenizer_class" ${JSON.stringify(name)} is not a tokenizer transformers.js knows`,
    );
  }
  try {
    return alignWithHuggingFace(new cls(json, config), json);
  } catch (cause) {
    throw bundleError(
      `${dir}/${files.file}: cannot build the tokenizer (${(cause as Error).message})`,
      cause,
    );
  }
}
