// Each generated token's own text, such that a sequence's token texts joined are the decoding of
// the whole sequence. A byte-level BPE token (GPT-2's) can hold part of a character's UTF-8
// bytes (an emoji is often two or three tokens), so decoding it alone gives U+FFFD and the
// pieces join to the wrong text; here its text is the characters its bytes complete.
import type { PreTrainedTokenizer } from "@xenova/transformers";
import { tokenBytes } from "./byte-level.js";

export interface TokenTexts {
  /** The text token `id` adds: "" while its bytes leave a character incomplete. */
  next(id: number): string;
  /** What the sequence leaves undecoded at its end: U+FFFD for an incomplete character, else "". */
  end(): string;
}

interface TokenizerParts {
  readonly decoder?: { readonly config?: { readonly type?: string } } | null;
  readonly model: { readonly vocab: readonly string[] | Record<number, string> };
  readonly added_tokens?: readonly { readonly id: number; readonly special?: boolean }[];
}

/**
 * Token texts of one sequence for `tokenizer`. With a byte-level decoder (GPT-2's BPE) the bytes
 * are decoded as a UTF-8 stream (U+FFFD for invalid bytes, as encoder.py's errors="replace" and
 * transformers.js decode them); special tokens give "". With any other decoder each token is
 * decoded alone, as `tokenizer.decode([id])` does (a word of a word-level vocabulary).
 */
export function tokenTexts(tokenizer: PreTrainedTokenizer): TokenTexts {
  const parts = tokenizer as unknown as TokenizerParts;
  if (parts.decoder?.config?.type !== "ByteLevel") {
    return { next: (id) => tokenizer.decode([id]), end: () => "" };
  }
  const special = new Set((parts.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
  const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  return {
    next(id) {
      if (special.has(id)) return "";
      const token = (parts.model.vocab as Record<number, string>)[id];
      const bytes = token === undefined ? undefined : tokenBytes(token);
      if (bytes === undefined) return utf8.decode() + tokenizer.decode([id]);
      return utf8.decode(Uint8Array.from(bytes), { stream: true });
    },
    end: () => utf8.decode(),
  };
}

/** Every token's text of `ids`; what the end leaves undecoded is added to the last one. */
export function textsOfTokens(tokenizer: PreTrainedTokenizer, ids: readonly number[]): string[] {
  const texts = tokenTexts(tokenizer);
  const out = ids.map((id) => texts.next(id));
  const rest = texts.end();
  if (rest !== "" && out.length > 0) out[out.length - 1] += rest;
  return out;
}
