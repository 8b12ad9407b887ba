// Renders a scene layout with sharp: background pixels, then the emoji composited on top.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { seededRandom } from "@beem-ts/core";
import { COLORS } from "./colors.js";
import type { EmojiSet, SceneLayout } from "./layout.js";

const require = createRequire(import.meta.url);
const PACKAGE_DIRS: Record<EmojiSet, string> = {
  google: dirname(require.resolve("emoji-datasource-google/package.json")),
  twitter: dirname(require.resolve("emoji-datasource-twitter/package.json")),
};
const images = new Map<string, Promise<Buffer>>();

function emojiImage(set: EmojiSet, image: string): Promise<Buffer> {
  const key = `${set}/${image}`;
  let buffer = images.get(key);
  if (buffer === undefined) {
    buffer = readFile(join(PACKAGE_DIRS[set], "img", set, "64", image));
    images.set(key, buffer);
  }
  return buffer;
}

function backgroundPixels(layout: SceneLayout): Uint8Array {
  const { width, height, background } = layout;
  const pixels = new Uint8Array(width * height * 3);
  const c1 = COLORS[background.colors[0]]!;
  const c2 = background.kind === "gradient" ? COLORS[background.colors[1]]! : c1;
  const random = seededRandom(layout.seed * 7919 + layout.index);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t =
        background.kind === "gradient"
          ? background.direction === "horizontal"
            ? x / (width - 1)
            : y / (height - 1)
          : 0;
      const noise = background.kind === "noise" ? (random() * 2 - 1) * background.amount : 0;
      const k = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        pixels[k + c] = Math.max(
          0,
          Math.min(255, Math.round(c1[c]! * (1 - t) + c2[c]! * t + noise)),
        );
      }
    }
  }
  return pixels;
}

export interface RenderOptions {
  /** Default "png". */
  readonly format?: "png" | "jpeg" | "webp";
}

/** The scene as an encoded image. */
export async function renderScene(
  layout: SceneLayout,
  options: RenderOptions = {},
): Promise<Buffer> {
  const overlays = await Promise.all(
    layout.objects.map(async (o) => ({
      input: await sharp(await emojiImage(o.set, o.image))
        .resize(o.size, o.size)
        .png()
        .toBuffer(),
      left: o.x,
      top: o.y,
    })),
  );
  const image = sharp(backgroundPixels(layout), {
    raw: { width: layout.width, height: layout.height, channels: 3 },
  }).composite(overlays);
  const format = options.format ?? "png";
  return format === "png"
    ? image.png().toBuffer()
    : format === "jpeg"
      ? image.jpeg({ quality: 90 }).toBuffer()
      : image.webp().toBuffer();
}
