import { sceneCaptions } from "./captions.js";
import { sceneLayout, type LayoutOptions, type SceneLayout } from "./layout.js";

export interface Scene extends SceneLayout {
  readonly captions: readonly string[];
}

/** Scene `index` of `seed`, with its five reference captions. */
export function generateScene(seed: number, index: number, options: LayoutOptions = {}): Scene {
  const layout = sceneLayout(seed, index, options);
  return { ...layout, captions: sceneCaptions(layout) };
}

/** Scenes `start` .. `start + count - 1` of `seed`. */
export function generateScenes(
  seed: number,
  count: number,
  options: LayoutOptions & { start?: number } = {},
): Scene[] {
  const { start = 0, ...layoutOptions } = options;
  return Array.from({ length: count }, (_, i) => generateScene(seed, start + i, layoutOptions));
}
