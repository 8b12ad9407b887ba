// transformers.js' image-to-text pipeline on the export of the same weights (`tjs-export.ts`),
// timed against our ways of captioning.
import { createRequire } from "node:module";
import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Captioner } from "@beem-ts/caption";
import type { Runner } from "./caption-runs.js";
import { timeSideBySide } from "./timing.js";

/** Block size for timing against transformers.js (see `timeSideBySide`). */
export const TJS_BLOCK = 25;

/**
 * Intra-op threads transformers.js' sessions get by default in our timings: undefined, its own
 * default (onnxruntime-node 1.14 picks one thread per core, spinning), the fastest measured on
 * the 2-core development machine: 50 held-out scenes, 2 passes, 4.83 s per pass against 5.01 s
 * with 2 threads set and 5.74 s with 1 (`caption-eval --scenes 50 --repeats 2 --tjs-threads N`).
 */
export const TJS_DEFAULT_THREADS: number | undefined = undefined;

export function tjsThreadsLabel(threads: number | undefined): string {
  return threads === undefined
    ? "transformers.js 2.17 defaults (onnxruntime-node 1.14 session defaults)"
    : `transformers.js 2.17, onnxruntime-node 1.14 sessions with ${threads} intra-op thread${threads === 1 ? "" : "s"}`;
}

type SessionFactory = (model: unknown, options?: Record<string, unknown>) => Promise<unknown>;

export interface TransformersJsCaptioner {
  caption(file: string): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * transformers.js' image-to-text pipeline on the export of the same weights, timed against our
 * ways of captioning (`ours`) in blocks of TJS_BLOCK images. Times per repeat (medians are the
 * caller's); the captions of the last repeat.
 */
export async function transformersJsAgainst<K extends string>(
  captioner: Captioner,
  tjsDir: string,
  files: readonly string[],
  ours: Readonly<Record<K, Runner>>,
  options: { repeats?: number; onRepeat?: () => void; threads?: number | undefined } = {},
): Promise<{ texts: string[]; tjsMs: number[]; oursMs: Record<K, number[]> }> {
  const maxNewTokens = captioner.model.manifest.maxLength - 1;
  const pipe = await openTransformersJs(tjsDir, files[0]!, maxNewTokens, options.threads);
  try {
    const texts: string[] = [];
    const tjs: Runner = async (f, i) => (texts[i] = await pipe.caption(f));
    const ms = await timeSideBySide(files, { ...ours, [TJS_KEY]: tjs } as Record<string, Runner>, {
      repeats: options.repeats ?? 1,
      block: TJS_BLOCK,
      ...(options.onRepeat && { onRepeat: options.onRepeat }),
    });
    const { [TJS_KEY]: tjsMs, ...oursMs } = ms;
    return { texts, tjsMs: tjsMs!, oursMs: oursMs as Record<K, number[]> };
  } finally {
    await pipe.dispose();
  }
}

const TJS_KEY = "transformers.js";

/**
 * transformers.js' image-to-text pipeline on the export of the same weights, warmed up. With
 * `threads`, its onnxruntime sessions get that many intra-op threads (transformers.js 2.x has no
 * option for it: the session factory it uses is wrapped while the pipeline loads).
 */
export async function openTransformersJs(
  tjsDir: string,
  warmUpFile: string,
  maxNewTokens: number,
  threads?: number,
): Promise<TransformersJsCaptioner> {
  const { pipeline, env } = await import("@xenova/transformers");
  env.allowRemoteModels = false;
  env.localModelPath = dirname(tjsDir) + "/";
  // The onnxruntime-node (1.14) that transformers.js itself imports.
  const require = createRequire(fileURLToPath(import.meta.resolve("@xenova/transformers")));
  const sessions = (require("onnxruntime-node") as { InferenceSession: { create: SessionFactory } })
    .InferenceSession;
  const create = sessions.create;
  if (threads !== undefined)
    sessions.create = (model, options) =>
      create.call(sessions, model, {
        ...options,
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      });
  let pipe;
  try {
    pipe = await pipeline("image-to-text", basename(tjsDir), { quantized: false });
  } finally {
    sessions.create = create;
  }
  const caption = async (file: string) => {
    const out = (await pipe(file, { max_new_tokens: maxNewTokens })) as {
      generated_text: string;
    }[];
    return out[0]!.generated_text;
  };
  await caption(warmUpFile);
  return { caption, dispose: () => pipe.dispose() };
}
