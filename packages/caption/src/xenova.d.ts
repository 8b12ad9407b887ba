// The deep import of transformers.js' tokenizer module (its package declares no types for it).
declare module "@xenova/transformers/src/tokenizers.js" {
  export class BertTokenizer {
    constructor(tokenizerJSON: unknown, tokenizerConfig: unknown);
    encode(text: string): number[];
  }
}
