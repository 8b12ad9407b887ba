// Deterministic scene layouts: image size, background and objects, from a seed and an index.
import { BeemError, seededRandom } from "@beem-ts/core";
import { CATALOG } from "./catalog.js";
import { COLOR_NAMES } from "./colors.js";

export type EmojiSet = "google" | "twitter";

export interface SceneObject {
  /** CLDR name, e.g. "dog face". */
  readonly name: string;
  /** Image file in the emoji-datasource packages. */
  readonly image: string;
  readonly set: EmojiSet;
  /** Top-left corner and side, in pixels. */
  readonly x: number;
  readonly y: number;
  readonly size: number;
}

export type Background =
  | { readonly kind: "solid"; readonly colors: readonly [string] }
  | {
      readonly kind: "gradient";
      readonly colors: readonly [string, string];
      readonly direction: "horizontal" | "vertical";
    }
  | { readonly kind: "noise"; readonly colors: readonly [string]; readonly amount: number };

export interface SceneLayout {
  readonly id: string;
  readonly seed: number;
  readonly index: number;
  readonly width: number;
  readonly height: number;
  readonly background: Background;
  readonly objects: readonly SceneObject[];
}

export interface LayoutOptions {
  /** Default 1. */
  readonly minObjects?: number;
  /** Default 4 (at most 4). */
  readonly maxObjects?: number;
  /** Object side as a fraction of the image's shorter side. Defaults 0.18 and 0.42. */
  readonly minSize?: number;
  readonly maxSize?: number;
  /** Image sides in pixels. Defaults 160 and 320. */
  readonly minImageSize?: number;
  readonly maxImageSize?: number;
  /** Largest share of an object that another may cover. Default 0.3. */
  readonly maxOverlap?: number;
  /** Restrict objects to these catalog names. Default: the whole catalog. */
  readonly objects?: readonly string[];
  /** Emoji sets to draw from. Default both. */
  readonly sets?: readonly EmojiSet[];
}

const MAX_OBJECTS = 4;

interface Resolved {
  minObjects: number;
  maxObjects: number;
  minSize: number;
  maxSize: number;
  minImageSize: number;
  maxImageSize: number;
  maxOverlap: number;
  catalog: readonly (readonly [string, string])[];
  sets: readonly EmojiSet[];
}

/** Applies defaults and rejects impossible requests. */
export function resolveLayoutOptions(options: LayoutOptions = {}): Resolved {
  const fail = (message: string): never => {
    throw new BeemError("INVALID_ARGUMENT", message);
  };
  const minObjects = options.minObjects ?? 1;
  const maxObjects = options.maxObjects ?? MAX_OBJECTS;
  if (!Number.isInteger(minObjects) || minObjects < 1)
    fail(`Expected minObjects to be an integer >= 1 but received ${minObjects}`);
  if (!Number.isInteger(maxObjects) || maxObjects < minObjects || maxObjects > MAX_OBJECTS) {
    fail(
      `Expected maxObjects to be an integer in [${minObjects}, ${MAX_OBJECTS}] but received ${maxObjects}`,
    );
  }
  const minSize = options.minSize ?? 0.18;
  const maxSize = options.maxSize ?? 0.42;
  if (!(minSize > 0) || !(maxSize >= minSize) || maxSize > 1) {
    fail(
      `Expected 0 < minSize <= maxSize <= 1 but received minSize ${minSize} and maxSize ${maxSize}`,
    );
  }
  const minImageSize = options.minImageSize ?? 160;
  const maxImageSize = options.maxImageSize ?? 320;
  if (
    !Number.isInteger(minImageSize) ||
    minImageSize < 32 ||
    !Number.isInteger(maxImageSize) ||
    maxImageSize < minImageSize ||
    maxImageSize > 4096
  ) {
    fail(
      `Expected image sizes to be integers with 32 <= minImageSize <= maxImageSize <= 4096 but received ${minImageSize} and ${maxImageSize}`,
    );
  }
  const maxOverlap = options.maxOverlap ?? 0.3;
  if (!(maxOverlap >= 0 && maxOverlap <= 1))
    fail(`Expected maxOverlap to be in [0, 1] but received ${maxOverlap}`);
  // Objects of the smallest size, maxOverlap aside, must be able to share the image.
  if (maxObjects * minSize * minSize > 0.6) {
    fail(`${maxObjects} objects of at least ${minSize} of the image side cannot fit in one image`);
  }
  let catalog = CATALOG;
  if (options.objects !== undefined) {
    const known = new Map(CATALOG.map((c) => [c[0], c]));
    const unknown = options.objects.filter((n) => !known.has(n));
    if (unknown.length > 0)
      fail(`Unknown emoji name(s): ${unknown.map((n) => JSON.stringify(n)).join(", ")}`);
    if (options.objects.length === 0) fail("Expected at least one object name");
    catalog = options.objects.map((n) => known.get(n)!);
  }
  const sets = options.sets ?? ["google", "twitter"];
  if (sets.length === 0 || sets.some((s) => s !== "google" && s !== "twitter")) {
    fail(`Expected sets to be "google" and/or "twitter" but received ${JSON.stringify(sets)}`);
  }
  return {
    minObjects,
    maxObjects,
    minSize,
    maxSize,
    minImageSize,
    maxImageSize,
    maxOverlap,
    catalog,
    sets,
  };
}

/** The layout of scene `index` of `seed`: the same on every machine. */
export function sceneLayout(seed: number, index: number, options: LayoutOptions = {}): SceneLayout {
  const o = resolveLayoutOptions(options);
  if (!Number.isInteger(seed) || seed < 0)
    throw new BeemError(
      "INVALID_ARGUMENT",
      `Expected seed to be an integer >= 0 but received ${seed}`,
    );
  if (!Number.isInteger(index) || index < 0)
    throw new BeemError(
      "INVALID_ARGUMENT",
      `Expected index to be an integer >= 0 but received ${index}`,
    );
  const random = seededRandom(
    (Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0,
  );
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const width = int(o.minImageSize, o.maxImageSize);
  const height = int(o.minImageSize, o.maxImageSize);
  const kind = random();
  const c1 = pick(COLOR_NAMES);
  let background: Background;
  if (kind < 0.5) background = { kind: "solid", colors: [c1] };
  else if (kind < 0.8) {
    let c2 = pick(COLOR_NAMES);
    while (c2 === c1) c2 = pick(COLOR_NAMES);
    background = {
      kind: "gradient",
      colors: [c1, c2],
      direction: random() < 0.5 ? "horizontal" : "vertical",
    };
  } else background = { kind: "noise", colors: [c1], amount: 20 + Math.floor(random() * 60) };

  const count = int(o.minObjects, o.maxObjects);
  const side = Math.min(width, height);
  for (let attempt = 0; attempt < 50; attempt++) {
    const objects: SceneObject[] = [];
    const names = new Set<string>();
    for (let k = 0; k < count; k++) {
      let entry = pick(o.catalog);
      // Distinct objects while the catalog allows, so captions name each one once.
      for (let tries = 0; names.has(entry[0]) && tries < 20; tries++) entry = pick(o.catalog);
      names.add(entry[0]);
      const size = Math.max(8, Math.round(side * (o.minSize + random() * (o.maxSize - o.minSize))));
      let placed: SceneObject | undefined;
      for (let tries = 0; tries < 100 && placed === undefined; tries++) {
        const candidate = {
          name: entry[0],
          image: entry[1],
          set: pick(o.sets),
          x: int(0, width - size),
          y: int(0, height - size),
          size,
        };
        if (objects.every((other) => overlapShare(candidate, other) <= o.maxOverlap))
          placed = candidate;
      }
      if (placed === undefined) break;
      objects.push(placed);
    }
    if (objects.length === count) {
      return { id: `${seed}-${index}`, seed, index, width, height, background, objects };
    }
  }
  throw new BeemError(
    "INVALID_ARGUMENT",
    `Cannot place ${count} objects of ${o.minSize}-${o.maxSize} of the side in a ${width}x${height} image with overlap <= ${o.maxOverlap}`,
  );
}

/** The share of the smaller of two squares that the other covers. */
function overlapShare(a: SceneObject, b: SceneObject): number {
  const w = Math.min(a.x + a.size, b.x + b.size) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.size, b.y + b.size) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / Math.min(a.size * a.size, b.size * b.size);
}
