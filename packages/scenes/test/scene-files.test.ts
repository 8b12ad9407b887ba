// writeSceneImages: scenes rendered into a folder, one decodable image file each.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateScenes, renderScene, writeSceneImages } from "../src/index.js";

const scenes = generateScenes(42, 3, { minImageSize: 64, maxImageSize: 120 });
let root: string;

describe("writeSceneImages", () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "beem-scene-files-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ["png", "png", "png"],
    ["jpeg", "jpg", "jpeg"],
    ["webp", "webp", "webp"],
    [undefined, "png", "png"],
  ] as const)(
    "format %s: scene-<id>.%s files, in a folder it makes, that decode at the scene's size",
    async (format, extension, decoded) => {
      const dir = join(root, `out-${format ?? "default"}`, "nested");
      const written = await writeSceneImages(scenes, dir, format ? { format } : {});
      const names = scenes.map((s) => `scene-${s.id}.${extension}`);
      expect(new Set(names).size).toBe(scenes.length);
      expect((await readdir(dir)).sort()).toEqual([...names].sort());
      expect(written).toEqual(scenes.map((s, k) => ({ ...s, file: names[k] })));
      for (const [k, scene] of scenes.entries()) {
        const bytes = await readFile(join(dir, names[k]!));
        const meta = await sharp(bytes).metadata();
        expect(meta).toMatchObject({ format: decoded, width: scene.width, height: scene.height });
        expect(bytes.equals(await renderScene(scene, { format: format ?? "png" }))).toBe(true);
      }
    },
  );

  it("reports progress after each file is written, counting up to the total", async () => {
    const dir = join(root, "progress");
    const calls: [number, number][] = [];
    await writeSceneImages(scenes, dir, {
      onProgress: (done, total) => {
        calls.push([done, total]);
        // The file just counted is on disk, the next one not yet.
        expect(existsSync(join(dir, `scene-${scenes[done - 1]!.id}.png`))).toBe(true);
        if (done < total)
          expect(existsSync(join(dir, `scene-${scenes[done]!.id}.png`))).toBe(false);
      },
    });
    expect(calls).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it("makes the folder and writes nothing for no scenes", async () => {
    const dir = join(root, "empty");
    const calls: number[] = [];
    expect(await writeSceneImages([], dir, { onProgress: (done) => calls.push(done) })).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("refuses a format it cannot write, before making the folder", async () => {
    const dir = join(root, "gif");
    await expect(
      writeSceneImages(scenes, dir, { format: "gif" as unknown as "png" }),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: 'Expected format to be one of "png", "jpeg", "webp" but received "gif"',
    });
    expect(existsSync(dir)).toBe(false);
  });

  it("fails with WRITE_FAILED naming the folder when a file is in the way, reporting no progress", async () => {
    const file = join(root, "a-file");
    await writeFile(file, "x");
    const calls: number[] = [];
    for (const dir of [file, join(file, "below")]) {
      await expect(
        writeSceneImages(scenes, dir, { onProgress: (done) => calls.push(done) }),
      ).rejects.toMatchObject({
        code: "WRITE_FAILED",
        message: `${dir}: cannot make the folder (a file is in the way)`,
      });
    }
    expect(calls).toEqual([]);
    expect(await readFile(file, "utf8")).toBe("x");
  });
});
