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

/** The chips shown in a caption box (the words, then the end token), with layers and colours. */
function chips(page: Page, box: string) {
  return page.$$eval(`#${box} .word`, (els) =>
    els.map((e) => ({
      text: e.firstChild?.textContent ?? "",
      end: e.classList.contains("end"),
      layer: Number((e as HTMLElement).dataset.layer),
      background: getComputedStyle(e).backgroundColor,
      color: getComputedStyle(e).color,
    })),
  );
}

async function words(page: Page, box: string) {
  return (await chips(page, box)).filter((c) => !c.end);
}

/** WCAG contrast ratio of two computed `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const lum = (rgb: string) => {
    const [r, g, bl] = rgb
      .match(/\d+/g)!
      .slice(0, 3)
      .map((v) => {
        const c = Number(v) / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Distance of two computed colours in RGB (0 to 441). */
function distance(a: string, b: string): number {
  const [x, y] = [a, b].map((c) => c.match(/\d+/g)!.slice(0, 3).map(Number)) as [
    number[],
    number[],
  ];
  return Math.hypot(...x.map((v, i) => v - y[i]!));
}

interface CaptionCall {
  url: string;
  accept: string;
  sentImage: boolean;
  done: { timings: Record<string, number>; meanExitLayer: number } | null;
}

/**
 * Records the caption requests the page makes and the `done` event each answer ends with (a
 * copy of the response, read beside the page's own reading).
 */
async function recordCaptions(page: Page): Promise<() => Promise<CaptionCall[]>> {
  await page.evaluateOnNewDocument(() => {
    const calls: CaptionCall[] = [];
    (window as unknown as { captionCalls: CaptionCall[] }).captionCalls = calls;
    const original = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const res = await original(input, init);
      const url = String(input);
      if (url.includes("/v1/caption")) {
        const call: CaptionCall = {
          url,
          accept: new Headers(init?.headers).get("accept") ?? "",
          sentImage: init?.body instanceof Blob && init.body.size > 0,
          done: null,
        };
        calls.push(call);
        void res
          .clone()
          .text()
          .then((text) => {
            const data = /event: done\ndata: (.*)/.exec(text)?.[1];
            if (data !== undefined) call.done = JSON.parse(data) as CaptionCall["done"];
          });
      }
      return res;
    };
  });
  return async () => {
    await page.waitForFunction(() =>
      (window as unknown as { captionCalls: CaptionCall[] }).captionCalls.every(
        (c) => c.done !== null,
      ),
    );
    return page.evaluate(() => (window as unknown as { captionCalls: CaptionCall[] }).captionCalls);
  };
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
    const missing: string[] = [];
    page.on("response", (r) => {
      if (r.status() === 404) missing.push(r.url());
    });
    const captionCalls = await recordCaptions(page);
    const started = Date.now();
    await page.goto(base, { waitUntil: "load" });
    await page.waitForSelector("#legend .word");
    const loadedMs = Date.now() - started;
    await ((await page.$("#file")) as ElementHandle<HTMLInputElement>).uploadFile(SCENE);
    await page.waitForFunction(() =>
      /measured/.test(document.getElementById("speedup")!.textContent ?? ""),
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
    // Words of different layers get different colours, as the legend shows: neighbouring layers
    // far apart, and the text on every colour legible (WCAG AA, 4.5:1).
    const legend = await chips(page, "legend");
    expect(new Set(legend.map((c) => c.background)).size).toBe(6);
    for (const [i, c] of legend.entries()) {
      expect(contrast(c.background, c.color), `layer ${i + 1}`).toBeGreaterThanOrEqual(4.5);
      if (i > 0) expect(distance(c.background, legend[i - 1]!.background)).toBeGreaterThan(100);
    }

    // The end token is a chip with its layer, and the mean exit layer shown is that of the chips.
    const stats: { mean: number; ms: number }[] = [];
    for (const box of ["early", "full"]) {
      const shown = await chips(page, `${box}-caption`);
      expect(shown.at(-1)!.end, box).toBe(true);
      expect(shown.filter((c) => c.end)).toHaveLength(1);
      const text = (await page.$eval(`#${box}-stats`, (e) => e.textContent))!;
      const m = /mean exit layer (\d\.\d\d) of 6 · (\d+\.\d) ms on the server/.exec(text);
      expect(m, text).not.toBeNull();
      const mean = shown.reduce((a, c) => a + c.layer, 0) / shown.length;
      expect(Number(m![1])).toBeCloseTo(mean, 2);
      stats.push({ mean: Number(m![1]), ms: Number(m![2]) });
    }

    // Both ways are measured alike: the same streamed request, one after the other, each sending
    // the image (decoded by the server each time); the times shown are their timings.totalMs.
    const captions = await captionCalls();
    expect(captions).toHaveLength(2);
    expect(captions[0]!.url).not.toMatch(/full=true/);
    expect(captions[1]!.url).toMatch(/full=true/);
    for (const [i, c] of captions.entries()) {
      expect(c.accept).toBe("text/event-stream");
      expect(c.sentImage).toBe(true);
      const t = c.done!.timings;
      expect(t.imageMs).toBeGreaterThan(0.2);
      expect(t.totalMs).toBeCloseTo(t.imageMs! + t.encoderMs! + t.decodeMs!, 6);
      expect(stats[i]!.ms).toBeCloseTo(t.totalMs!, 1);
    }
    // The speed-up shown is the quotient of the two times, and the counted one 6 / mean layer.
    const speedup = (await page.$eval("#speedup", (e) => e.textContent))!;
    const s = /([\d.]+)x measured .*?([\d.]+)x counted/.exec(speedup);
    expect(s, speedup).not.toBeNull();
    expect(Number(s![1])).toBeCloseTo(stats[1]!.ms / stats[0]!.ms, 1);
    expect(Number(s![2])).toBeCloseTo(6 / stats[0]!.mean, 1);
    expect(speedup).toContain(`${stats[1]!.ms.toFixed(1)} ms`);
    expect(speedup).toContain(`${stats[0]!.ms.toFixed(1)} ms`);
    expect(missing).toEqual([]);
    // The screenshot (docs/page.png) of a second run of the same image: the first request of a
    // freshly started server is slower than the rest, whichever way it runs.
    const firstSpeedup = speedup;
    await page.$eval("#file", (e) => e.dispatchEvent(new Event("change")));
    await page.waitForFunction(
      (old) => {
        const text = document.getElementById("speedup")!.textContent ?? "";
        return /measured/.test(text) && text !== old;
      },
      {},
      firstSpeedup,
    );
    await page.screenshot({ path: resolve(OUT, "page-desktop.png"), fullPage: true });

    // The slider, from the keyboard: lambda 0.01 -> 1.
    const before = await page.$eval("#early-stats", (e) => e.textContent);
    await page.focus("#lambda");
    for (let i = 0; i < 6; i++) await page.keyboard.press("ArrowRight");
    expect(await page.$eval("#lambda-value", (e) => e.textContent)).toBe("1");
    await page.waitForFunction(
      (old) => {
        const text = document.getElementById("speedup")!.textContent ?? "";
        return /measured/.test(text) && document.getElementById("early-stats")!.textContent !== old;
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

  it("explains every rule, and says lambda 0 may still exit early", async () => {
    const page = await browser.newPage();
    await page.goto(base, { waitUntil: "load" });
    await page.waitForSelector("#legend .word");
    const rules = await page.$$eval("#rule option", (els) =>
      els.map((e) => (e as HTMLOptionElement).value),
    );
    expect(rules.sort()).toEqual(["beem-a", "beem-c", "entropy", "maxprob", "patience"]);
    const lines = new Set<string>();
    for (const rule of rules) {
      await page.select("#rule", rule);
      const line = (await page.$eval("#rule-help", (e) => e.textContent))!;
      expect(line.length, rule).toBeGreaterThan(40);
      lines.add(line);
    }
    expect(lines.size).toBe(rules.length);
    expect(await page.$eval("#rule", (e) => e.getAttribute("aria-describedby"))).toBe("rule-help");
    // The lambda hint does not promise full depth at lambda 0 (BEEM-A still exits early there).
    const hint = (await page.$eval("#lambda + .hint", (e) => e.textContent))!.replace(/\s+/g, " ");
    expect(hint).toMatch(/Lambda 0 .* still stops early/);
    await page.close();
  }, 60_000);

  it("says in words why a file that is not an image was refused, with the API message as details, and is usable at 375 px from the keyboard", async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 375, height: 800, isMobile: true });
    await page.goto(base, { waitUntil: "load" });
    await page.waitForSelector("#legend .word");
    const notes = resolve(OUT, "notes.txt");
    writeFileSync(notes, "not an image");
    await ((await page.$("#file")) as ElementHandle<HTMLInputElement>).uploadFile(notes);
    await page.waitForSelector("#error:not([hidden])");
    expect(await page.$eval("#error .message", (e) => e.textContent)).toBe(
      "That file is not an image this page can caption. Choose a photo (JPEG, PNG, WebP or GIF).",
    );
    expect(await page.$eval("#error details code", (e) => e.textContent)).toMatch(
      /^Send the image as the body with Content-Type image\/\*/,
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
