// Bundled models and images the server tests use, and hand-made bad inputs.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { deflateSync } from "node:zlib";

const ROOT = resolve(import.meta.dirname, "../../..");
export const CAPTION_MODEL = resolve(ROOT, "models/caption-beem");
export const TEXT_MODEL = resolve(ROOT, "models/sst2-beem");
export const SCENE = readFileSync(resolve(ROOT, "examples/images/scene.png"));
export const modelsPresent =
  existsSync(resolve(CAPTION_MODEL, "manifest.json")) &&
  existsSync(resolve(TEXT_MODEL, "manifest.json"));
if (!modelsPresent) console.warn("SKIPPED server tests: no bundled models");

function crc32(bytes: Buffer): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG whose header says width x height (RGB), with a tiny image body: a decompression bomb. */
export function hugePngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(1024))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
