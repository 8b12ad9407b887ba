import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  CATALOG,
  canonicalReference,
  generateScene,
  generateScenes,
  renderScene,
} from "../src/index.js";

describe("scene generator", () => {
  const scenes = generateScenes(7, 200);

  it("is deterministic for a seed and index, down to the rendered bytes", async () => {
    const a = generateScene(7, 3);
    expect(generateScene(7, 3)).toEqual(a);
    expect(await renderScene(a)).toEqual(await renderScene(generateScene(7, 3)));
    expect(generateScene(8, 3)).not.toEqual(a);
  });

  it("draws 1 to 4 catalog objects inside the image, overlapping at most as allowed", () => {
    const names = new Set(CATALOG.map((c) => c[0]));
    const counts = new Set<number>();
    for (const s of scenes) {
      counts.add(s.objects.length);
      for (const o of s.objects) {
        expect(names.has(o.name)).toBe(true);
        expect(o.x).toBeGreaterThanOrEqual(0);
        expect(o.y).toBeGreaterThanOrEqual(0);
        expect(o.x + o.size).toBeLessThanOrEqual(s.width);
        expect(o.y + o.size).toBeLessThanOrEqual(s.height);
      }
      for (const a of s.objects) {
        for (const b of s.objects) {
          if (a === b) continue;
          const w = Math.min(a.x + a.size, b.x + b.size) - Math.max(a.x, b.x);
          const h = Math.min(a.y + a.size, b.y + b.size) - Math.max(a.y, b.y);
          const share = w > 0 && h > 0 ? (w * h) / Math.min(a.size ** 2, b.size ** 2) : 0;
          expect(share).toBeLessThanOrEqual(0.3);
        }
      }
    }
    expect([...counts].sort()).toEqual([1, 2, 3, 4]);
    expect(new Set(scenes.map((s) => s.background.kind))).toEqual(
      new Set(["solid", "gradient", "noise"]),
    );
  });

  it("gives five different lower-case references that name every object", () => {
    for (const s of scenes) {
      expect(s.captions).toHaveLength(5);
      expect(new Set(s.captions).size).toBe(5);
      for (const c of s.captions) {
        expect(c).toBe(c.toLowerCase());
        for (const o of s.objects) expect(c).toContain(o.name);
      }
    }
  });

  it("describes positions from left to right", () => {
    const s = generateScenes(7, 50).find(
      (x) => x.objects.length === 2 && x.captions[0]!.includes("to the left of"),
    )!;
    const [left, right] = [...s.objects].sort((a, b) => a.x + a.size / 2 - (b.x + b.size / 2));
    expect(s.captions[0]).toMatch(new RegExp(`${left!.name} to the left of .*${right!.name}`));
  });

  it("has a canonical caption: the objects from left to right, then the background", () => {
    for (const s of scenes) {
      const caption = s.captions[canonicalReference(s.objects.length)]!;
      const byX = [...s.objects].sort((a, b) => a.x + a.size / 2 - (b.x + b.size / 2));
      const at = byX.map((o) => caption.indexOf(o.name));
      expect(at.every((p) => p >= 0)).toBe(true);
      expect(at).toEqual([...at].sort((a, b) => a - b));
      expect(caption).toMatch(/ background$/);
      expect(caption).toContain(s.background.colors[0]);
    }
    expect(() => canonicalReference(0)).toThrow(
      expect.objectContaining({
        code: "INVALID_ARGUMENT",
        message: "Expected 1 to 4 objects but received 0",
      }),
    );
    expect(() => canonicalReference(2.5)).toThrow(/received 2.5/);
  });

  it("renders at the layout's size, in PNG, JPEG and WebP", async () => {
    const s = scenes[0]!;
    for (const format of ["png", "jpeg", "webp"] as const) {
      const meta = await sharp(await renderScene(s, { format })).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([format, s.width, s.height]);
    }
  });

  it.each([
    [{ maxObjects: 5 }, /maxObjects to be an integer in \[1, 4\] but received 5/],
    [{ objects: ["dog face", "unicorn head"] }, /Unknown emoji name\(s\): "unicorn head"/],
    [{ minSize: 0 }, /0 < minSize <= maxSize <= 1/],
    [{ minSize: 0.5, maxSize: 0.6 }, /4 objects of at least 0.5 of the image side cannot fit/],
    [{ minImageSize: 0 }, /image sizes/],
  ])("rejects impossible requests: %j", (options, message) => {
    expect(() => generateScene(1, 0, options)).toThrow(message);
  });
});
