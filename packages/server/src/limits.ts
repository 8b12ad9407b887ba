// The server's limits, with their defaults in one place.
export interface Limits {
  /** Largest request body (a raw image, all parts of a form, or JSON). Default 10 MiB. */
  readonly maxBodyBytes: number;
  /** Largest image in pixels (width x height), checked before decoding. Default 40 megapixels. */
  readonly maxPixels: number;
  /** Most images in one multipart request. Default 8. */
  readonly maxImages: number;
  /** Most texts in one classify request. Default 64. */
  readonly maxTexts: number;
  /** Longest text in characters. Default 10,000. */
  readonly maxTextChars: number;
  /** Most beams a caption request may ask for. Default 4. */
  readonly maxBeams: number;
  /** Requests waiting per model before 429. Default 64. */
  readonly maxQueue: number;
  /** How long requests wait to be batched with concurrent ones. Default 2 ms. */
  readonly batchWindowMs: number;
  /** Most texts classified in one batch. Default 64. */
  readonly maxBatch: number;
  /** Most images captioned in one batch (single-image greedy requests). Default 16. */
  readonly maxCaptionBatch: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 10 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxImages: 8,
  maxTexts: 64,
  maxTextChars: 10_000,
  maxBeams: 4,
  maxQueue: 64,
  batchWindowMs: 2,
  maxBatch: 64,
  maxCaptionBatch: 16,
};
