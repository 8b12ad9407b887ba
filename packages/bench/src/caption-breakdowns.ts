// Where early exit stops, broken down by what is in the scene and in the caption: the figures the
// model card quotes, each a field of `beem caption-eval --json`.
import { ciderDScores, metricTokens, type CaptionResult } from "@beem-ts/caption";
import { meanExitLayer } from "@beem-ts/core";
import { CATALOG, COLOR_NAMES, type Scene } from "@beem-ts/scenes";
import { meanExitOf } from "./caption-runs.js";

/** Mean exit layer (tokens, end tokens included) by number of objects in the scene. */
export function exitLayerByObjects(
  scenes: readonly Scene[],
  early: readonly CaptionResult[],
): Record<number, number> {
  const groups = new Map<number, CaptionResult[]>();
  early.forEach((r, i) => {
    const objects = scenes[i]!.objects.length;
    groups.set(objects, [...(groups.get(objects) ?? []), r]);
  });
  return Object.fromEntries(
    [...groups].sort(([a], [b]) => a - b).map(([k, rs]) => [k, meanExitOf(rs)]),
  );
}

/**
 * Mean early-exit layer (over tokens, end tokens included) of the easiest, middle and hardest
 * third of the images, where an image is as hard as its full-depth caption is poor (per-image
 * CIDEr-D against its references): the model's own difficulty, not a guess from the content.
 */
export function exitLayerByDifficulty(
  refs: readonly (readonly string[])[],
  full: readonly CaptionResult[],
  early: readonly CaptionResult[],
): { easy: number; medium: number; hard: number } {
  const scores = ciderDScores(
    full.map((r) => metricTokens(r.text)),
    refs.map((captions) => captions.map(metricTokens)),
  );
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  // Thirds as even as the count allows (4 scenes: 1, 2, 1), none empty from 3 scenes on.
  const [a, b] = [Math.round(order.length / 3), Math.round((2 * order.length) / 3)];
  const mean = (indices: number[]) => meanExitOf(indices.map((i) => early[i]!));
  return {
    easy: mean(order.slice(0, a)),
    medium: mean(order.slice(a, b)),
    hard: mean(order.slice(b)),
  };
}

const OBJECT_WORDS = new Set(CATALOG.flatMap(([name]) => name.split(" ")));
const COLOUR_WORDS = new Set(COLOR_NAMES);

/**
 * Mean exit layer of the caption words (end tokens left out) by class: words of object names
 * (the catalogue's nouns), colour words (the background's), and the rest (articles,
 * prepositions, "background"). A word in both an object name and the colours counts as colour.
 */
export function exitLayerByWordClass(early: readonly CaptionResult[]): {
  object: number;
  colour: number;
  other: number;
} {
  const layers = { object: [] as number[], colour: [] as number[], other: [] as number[] };
  for (const r of early) {
    for (const t of r.tokens) {
      const word = t.text.toLowerCase();
      const kind = COLOUR_WORDS.has(word) ? "colour" : OBJECT_WORDS.has(word) ? "object" : "other";
      layers[kind].push(t.exitLayer);
    }
  }
  return {
    object: meanExitLayer(layers.object),
    colour: meanExitLayer(layers.colour),
    other: meanExitLayer(layers.other),
  };
}

/**
 * Closed-class words of English captions (articles, pronouns, prepositions, conjunctions,
 * auxiliaries, clitics): the words a language model predicts from the words before them.
 */
const FUNCTION_WORDS = new Set(
  (
    "a an the this that these those some another other each his her their its it he she they " +
    "him them who which while as and or but of in on at to into onto from with without by for " +
    "over under near through across along around behind beside between down up out off next " +
    "front top is are was were be being been has have had does do 's n't there where"
  ).split(" "),
);
const BASIC_COLOURS = new Set(
  "black white brown red blue green yellow orange pink purple gray grey tan".split(" "),
);

/**
 * Mean exit layer of the words of real-photo captions (end tokens left out) by class:
 * function words (closed-class: articles, prepositions, auxiliaries...), colour words, and
 * content words (the rest: what the photo shows and does).
 */
export function exitLayerByPhotoWordClass(early: readonly CaptionResult[]): {
  function: number;
  colour: number;
  content: number;
} {
  const layers = { function: [] as number[], colour: [] as number[], content: [] as number[] };
  for (const r of early) {
    for (const t of r.tokens) {
      const word = t.text.trim().toLowerCase();
      const kind = FUNCTION_WORDS.has(word)
        ? "function"
        : BASIC_COLOURS.has(word)
          ? "colour"
          : "content";
      layers[kind].push(t.exitLayer);
    }
  }
  return {
    function: meanExitLayer(layers.function),
    colour: meanExitLayer(layers.colour),
    content: meanExitLayer(layers.content),
  };
}

/**
 * Mean per-scene exit layer of the scenes whose early-exit caption names every object in them
 * (each object's full name appears in it) and of the others, with how many scenes are in each.
 */
export function exitLayerByNaming(
  scenes: readonly Scene[],
  early: readonly CaptionResult[],
): { allNamed: number; notAllNamed: number; scenesAllNamed: number; scenesNotAllNamed: number } {
  const named: number[] = [];
  const missed: number[] = [];
  const words = (text: string) =>
    ` ${text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, " ")
      .trim()} `;
  early.forEach((r, i) => {
    const text = words(r.text);
    const all = scenes[i]!.objects.every((o) => text.includes(words(o.name)));
    (all ? named : missed).push(r.meanExitLayer);
  });
  return {
    allNamed: meanExitLayer(named),
    notAllNamed: meanExitLayer(missed),
    scenesAllNamed: named.length,
    scenesNotAllNamed: missed.length,
  };
}
