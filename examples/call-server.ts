// Call the HTTP API: caption an image and classify texts with fetch. Against a running server
// (`pnpm start`), set BEEM_URL=http://127.0.0.1:8080; without it, this example starts one
// in-process on a free port so that it runs on its own.
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { createApp, silentLogger } from "@beem-ts/server";

const root = resolve(import.meta.dirname, "..");
let url = process.env.BEEM_URL || undefined;
let stop = async () => {};
if (url === undefined) {
  const app = createApp({
    captionModel: resolve(root, "models/photo-caption"),
    textModel: resolve(root, "models/sst2-beem"),
    logger: silentLogger,
  });
  await app.ready();
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stop = async () => {
    server.close();
    await app.close();
  };
}

try {
  const image = await readFile(resolve(root, "examples/images/pets.jpg"));
  const caption = await fetch(`${url}/v1/caption?lambda=0.05`, {
    method: "POST",
    headers: { "Content-Type": "image/jpeg" },
    body: image,
  });
  const c = (await caption.json()) as {
    caption: string;
    meanExitLayer: number;
    tokens: { text: string; exitLayer: number }[];
  };
  console.log(`POST /v1/caption -> ${caption.status}: ${c.caption}`);
  console.log(`  ${c.tokens.map((t) => `${t.text}[${t.exitLayer}]`).join(" ")}`);

  const classify = await fetch(`${url}/v1/classify`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ texts: ["a warm, funny film", "dull and overlong"] }),
  });
  const k = (await classify.json()) as { results: { label: string; exitLayer: number }[] };
  console.log(
    `POST /v1/classify -> ${classify.status}: ${k.results.map((r) => `${r.label}[${r.exitLayer}]`).join(", ")}`,
  );

  const bad = await fetch(`${url}/v1/caption?lambda=-1`, {
    method: "POST",
    headers: { "Content-Type": "image/jpeg" },
    body: image,
  });
  console.log(`POST /v1/caption?lambda=-1 -> ${bad.status}: ${JSON.stringify(await bad.json())}`);
} finally {
  await stop();
}
