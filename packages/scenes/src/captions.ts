// Five reference captions per scene, from different templates and word orders (like COCO's
// five human references).
import { BeemError } from "@beem-ts/core";
import type { Background, SceneLayout, SceneObject } from "./layout.js";

/** Nouns that take another determiner than "a"/"an". */
const DETERMINED: Readonly<Record<string, string>> = {
  jeans: "a pair of jeans",
  glasses: "a pair of glasses",
  gloves: "a pair of gloves",
  skis: "a pair of skis",
  grapes: "some grapes",
  cherries: "some cherries",
  pancakes: "some pancakes",
  "french fries": "some french fries",
  popcorn: "some popcorn",
};

function article(noun: string): string {
  return DETERMINED[noun] ?? (/^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`);
}

function sizeWord(o: SceneObject, layout: SceneLayout): string | undefined {
  const share = o.size / Math.min(layout.width, layout.height);
  if (share >= 0.36) return "large";
  if (share <= 0.22) return "small";
  return undefined;
}

function sized(o: SceneObject, layout: SceneLayout): string {
  const s = sizeWord(o, layout);
  if (s === undefined) return article(o.name);
  const plain = article(o.name);
  // "a large dog face", "a small pair of jeans", "some large cherries"
  return plain.startsWith("some ") ? `some ${s} ${o.name}` : plain.replace(/^an? /, `a ${s} `);
}

function backgroundPhrase(b: Background): string {
  switch (b.kind) {
    case "solid":
      return `on ${article(b.colors[0])} background`;
    case "gradient":
      return `on ${article(b.colors[0])} and ${b.colors[1]} background`;
    case "noise":
      return `on a noisy ${b.colors[0]} background`;
  }
}

function region(o: SceneObject, layout: SceneLayout): string {
  const cx = (o.x + o.size / 2) / layout.width;
  const cy = (o.y + o.size / 2) / layout.height;
  const col = cx < 1 / 3 ? "left" : cx > 2 / 3 ? "right" : "";
  const row = cy < 1 / 3 ? "top" : cy > 2 / 3 ? "bottom" : "";
  if (row === "" && col === "") return "in the center";
  if (row === "") return `on the ${col}`;
  return col === "" ? `at the ${row}` : `in the ${row} ${col}`;
}

function list(phrases: readonly string[]): string {
  return phrases.length === 1
    ? phrases[0]!
    : `${phrases.slice(0, -1).join(" , ")} and ${phrases.at(-1)}`;
}

const NUMBER = ["", "one", "two", "three", "four"];

/**
 * Which of a scene's five references is its canonical caption: the objects from left to right,
 * then the background ("a lion on a black background", "a dog face next to an apple on a blue
 * background", "a picture of a dog face , a kite and an apple on a noisy red background"). Every
 * word of it follows from the image, so a captioner trained on it alone is uncertain only where
 * the image is; the caption recipe trains on it (`train.py --targets canonical`).
 */
export function canonicalReference(objects: number): number {
  if (!Number.isInteger(objects) || objects < 1 || objects > 4)
    throw new BeemError("INVALID_ARGUMENT", `Expected 1 to 4 objects but received ${objects}`);
  return objects === 1 ? 1 : 3;
}

/** Five captions, lower case, words separated by single spaces (commas as their own token). */
export function sceneCaptions(layout: SceneLayout): [string, string, string, string, string] {
  const bg = backgroundPhrase(layout.background);
  const byX = [...layout.objects].sort((a, b) => a.x + a.size / 2 - (b.x + b.size / 2));
  const np = byX.map((o) => article(o.name));
  if (byX.length === 1) {
    const o = byX[0]!;
    return [
      np[0]!,
      `${np[0]} ${bg}`,
      `a picture of ${np[0]}`,
      `${sized(o, layout)} ${region(o, layout)}`,
      `there is ${np[0]} ${bg}`,
    ];
  }
  if (byX.length === 2) {
    const [a, b] = byX as [SceneObject, SceneObject];
    const dx = Math.abs(b.x - a.x);
    const dy = b.y - a.y;
    const vertical = Math.abs(dy) > dx;
    const [top, bottom] = dy > 0 ? [0, 1] : [1, 0];
    const first = vertical ? `${np[top]} above ${np[bottom]}` : `${np[0]} to the left of ${np[1]}`;
    const second = vertical
      ? `${np[bottom]} below ${np[top]}`
      : `${np[1]} to the right of ${np[0]}`;
    return [
      first,
      second,
      `${np[0]} and ${np[1]}`,
      `${np[0]} next to ${np[1]} ${bg}`,
      `a picture of ${sized(a, layout)} and ${sized(b, layout)}`,
    ];
  }
  const n = NUMBER[byX.length]!;
  const rest = np.slice(1);
  return [
    list(np),
    `${np[0]} to the left of ${list(rest)}`,
    `${n} objects : ${list(np)}`,
    `a picture of ${list(np)} ${bg}`,
    `${list([...np].reverse())} from right to left`,
  ];
}
