// @beem-ts/scenes: synthetic captioning scenes from openly licensed emoji images.
export { generateScene, generateScenes, type Scene } from "./scene.js";
export {
  sceneLayout,
  resolveLayoutOptions,
  type SceneLayout,
  type SceneObject,
  type Background,
  type LayoutOptions,
  type EmojiSet,
} from "./layout.js";
export { sceneCaptions, canonicalReference } from "./captions.js";
export { renderScene, type RenderOptions } from "./render.js";
export { writeSceneImages, type SceneFileOptions } from "./scene-files.js";
export { CATALOG } from "./catalog.js";
export { COLORS, COLOR_NAMES } from "./colors.js";
