/// <reference lib="dom" />
// The page at / in a real browser: Debian's chromium driven by puppeteer-core (no browser
// download), against the real server process on a free loopback port.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import puppeteer, { type Browser, type ElementHandle, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, modelsPresent, startServer, waitReady } from "./fixtures.js";

const OUT = resolve(import.meta.dirname, "../test-output");
const SCENE = resolve(import.meta.dirname, "../../../examples/images/scene.png");

function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("which", [name], { encoding: "utf8" }).trim() || undefined;
    } catch {
      // not this one
    }
  }
  return undefined;
}

const chromium = process.env.BEEM_CHROMIUM ?? findChromium();
// CI installs chromium (.ci/run); elsewhere the test says it skipped.
if (chromium === undefined && process.env.CI === "true")
  throw new Error("CI needs chromium for the page test; .ci/run installs it with apt-get");
if (chromium === undefined) console.warn("SKIPPED page test: no chromium on PATH");

/** The words shown in a caption box, with their exit layers and colours. */
function words(page: Page, box: string) {
  return page.$$eval(`#${box} .word`, (els) =>
    els.map((e) => ({
      text: e.firstChild?.textContent ?? "",
      layer: Number((e as HTMLElement).dataset.layer),
      background: getComputedStyle(e).backgroundColor,
    })),
  );
}

describe.runIf(modelsPresent && chromium !== undefined)("the page in chromium", () => {
  let server: ReturnType<typeof startServer>;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    server = startServer({ PORT: String(port) });
    base = `http://127.0.0.1:${port}`;
    await waitReady(base, server.output);
    browser = await puppeteer.launch({
      executablePath: chromium!,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    mkdirSync(OUT, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.child.kill("SIGTERM");
    await server?.exited;
  });

  it("captions an upload early and at full depth, each word coloured by its exit layer, then follows lambda", async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    const started = Date.now();
    await page.goto(base, { waitUntil: "load" });
    await page.waitForSelector("#legend .word");
    const loadedMs = Date.now() - started;
    await ((await page.$("#file")) as ElementHandle<HTMLInputElement>).uploadFile(SCENE);
    await page.waitForFunction(() =>
      /ms on the server/.test(document.getElementById("full-stats")!.textContent ?? ""),
    );
    const firstCaptionMs = Date.now() - started;
    // Page load (until the model list is in) plus one caption early and at full depth.
    writeFileSync(
      resolve(OUT, "page-timing.json"),
      JSON.stringify({ firstCaptionMs, loadedMs, captionsMs: firstCaptionMs - loadedMs }) + "\n",
    );

    const early = await words(page, "early-caption");
    const full = await words(page, "full-caption");
    expect(early.map((w) => w.text).join(" ")).toMatch(/kite/);
    expect(full.length).toBeGreaterThan(3);
    for (const w of [...early, ...full]) {
      expect(w.layer).toBeGreaterThanOrEqual(1);
      expect(w.layer).toBeLessThanOrEqual(6);
      expect(w.background).not.toBe("rgba(0, 0, 0, 0)");
    }
    expect(full.every((w) => w.layer === 6)).toBe(true);
    expect(new Set(early.map((w) => w.layer)).size).toBeGreaterThan(1);
    // Words of different layers get different colours, as the legend shows.
    const legend = await page.$$eval("#legend .word", (els) =>
      els.map((e) => getComputedStyle(e).backgroundColor),
    );
    expect(new Set(legend).size).toBe(6);
    for (const id of ["early-stats", "full-stats"])
      expect(await page.$eval(`#${id}`, (e) => e.textContent)).toMatch(
        /mean exit layer \d\.\d\d of 6 · \d+\.\d ms on the server/,
      );
    await page.screenshot({ path: resolve(OUT, "page-desktop.png"), fullPage: true });

    // The slider, from the keyboard: lambda 0.01 -> 1.
    const before = await page.$eval("#early-stats", (e) => e.textContent);
    await page.focus("#lambda");
    for (let i = 0; i < 6; i++) await page.keyboard.press("ArrowRight");
    expect(await page.$eval("#lambda-value", (e) => e.textContent)).toBe("1");
    await page.waitForFunction(
      (old) => {
        const text = document.getElementById("full-stats")!.textContent ?? "";
        return (
          /ms on the server/.test(text) &&
          document.getElementById("early-stats")!.textContent !== old
        );
      },
      {},
      before,
    );
    const fast = await words(page, "early-caption");
    const meanFast = fast.reduce((s, w) => s + w.layer, 0) / fast.length;
    const meanBefore = early.reduce((s, w) => s + w.layer, 0) / early.length;
    expect(meanFast).toBeLessThanOrEqual(meanBefore);
    await page.close();
  }, 60_000);

  it("shows the API's error for a file that is not an image, and is usable at 375 px from the keyboard", async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 375, height: 800, isMobile: true });
    await page.goto(base, { waitUntil: "load" });
    await page.waitForSelector("#legend .word");
    const notes = resolve(OUT, "notes.txt");
    writeFileSync(notes, "not an image");
    await ((await page.$("#file")) as ElementHandle<HTMLInputElement>).uploadFile(notes);
    await page.waitForSelector("#error:not([hidden])");
    expect(await page.$eval("#error", (e) => e.textContent)).toMatch(
      /^Not an image this server can read: /,
    );
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      375,
    );
    // The tabs, the file chooser, the samples, the rule and the slider are reachable by Tab.
    const reached = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press("Tab");
      reached.add(
        await page.evaluate(
          () => document.activeElement?.id || document.activeElement?.tagName || "",
        ),
      );
    }
    for (const id of ["drop", "rule", "lambda"]) expect(reached).toContain(id);
    await page.screenshot({ path: resolve(OUT, "page-375.png"), fullPage: true });
    await page.close();
  }, 60_000);

  it("shows the committed trade-off sweep and classifies text", async () => {
    const page = await browser.newPage();
    await page.goto(base, { waitUntil: "load" });
    await page.click('[data-view="tradeoff"]');
    await page.waitForSelector("#tradeoff-table tr td");
    expect(await page.$$eval("#tradeoff-table tr", (rows) => rows.length)).toBeGreaterThan(5);
    await page.click('[data-view="classify"]');
    await page.click("#classify-form button");
    await page.waitForSelector("#classify-results li");
    const lines = await page.$$eval("#classify-results li", (els) => els.map((e) => e.textContent));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/positive .*exit layer \d/);
    expect(lines[1]).toMatch(/negative .*exit layer \d/);
    await page.close();
  }, 60_000);
});
