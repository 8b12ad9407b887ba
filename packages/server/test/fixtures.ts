// Bundled models and images the server tests use, and hand-made bad inputs.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
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

const MAIN = resolve(import.meta.dirname, "../src/main.ts");

/** A loopback port nothing listens on. */
export function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

/** The real server process (`pnpm start`'s entry point) with these environment variables. */
export function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    // The scene captioner (committed) unless a test says otherwise.
    env: { ...process.env, BEEM_CAPTION_MODEL: CAPTION_MODEL, ...env },
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((done) => child.on("exit", done));
  return { child, exited, output: () => out };
}

/** Resolves once GET /readyz answers 200 (about 30 s at most). */
export async function waitReady(base: string, output: () => string): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (i >= 300) throw new Error(`The server did not become ready:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
