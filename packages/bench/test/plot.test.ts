// The trade-off chart of caption-sweep (README and page): no two pieces of text overlap, and the
// quality axis covers where the rules differ, a far-off point drawn on its edge and named.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as vega from "vega";
import { compile } from "vega-lite";
import { describe, expect, it } from "vitest";
import { qualityDomain, renderSvg, tradeOffSpec, type TradeOffChart } from "../src/index.js";

// The committed scene sweep of docs/: its two full-depth references share a quality, and patience at
// lambda 0.5 lies far below every other point.
const sweep = JSON.parse(
  readFileSync(resolve(import.meta.dirname, "../../../docs/scene-caption-sweep.json"), "utf8"),
) as { rows: { rule: string; lambda: number | ""; ciderD: number; measuredSpeedup: number }[] };
const point = (r: (typeof sweep.rows)[number]) => ({
  series: r.rule,
  speedup: r.measuredSpeedup,
  quality: r.ciderD,
  label: String(r.lambda),
});
const chart: TradeOffChart = {
  title: "CIDEr-D against measured speed-up",
  xTitle: "measured speed-up",
  yTitle: "CIDEr-D",
  curves: sweep.rows.filter((r) => r.lambda !== "").map(point),
  references: sweep.rows.filter((r) => r.lambda === "").map(point),
};

interface Box {
  text: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Every text item of the rendered chart with its bounds in chart coordinates. */
async function textBoxes(c: TradeOffChart): Promise<Box[]> {
  const view = new vega.View(vega.parse(compile(tradeOffSpec(c)).spec), { renderer: "none" });
  await view.runAsync();
  const boxes: Box[] = [];
  const walk = (node: vega.Scene | vega.SceneItem, dx: number, dy: number) => {
    const mark = node as unknown as { marktype?: string; items?: unknown[] };
    if (mark.marktype !== undefined) {
      for (const item of (mark.items ?? []) as (vega.SceneItem & Record<string, unknown>)[]) {
        const b = item.bounds as { x1: number; y1: number; x2: number; y2: number };
        const text = item.text;
        if (mark.marktype === "text" && text !== undefined && String(text) !== "" && b.x2 > b.x1)
          boxes.push({
            text: String(text),
            x1: b.x1 + dx,
            y1: b.y1 + dy,
            x2: b.x2 + dx,
            y2: b.y2 + dy,
          });
        if (mark.marktype === "group")
          for (const child of (item.items ?? []) as vega.Scene[])
            walk(child, dx + ((item.x as number) ?? 0), dy + ((item.y as number) ?? 0));
      }
    }
  };
  walk((view.scenegraph() as unknown as { root: vega.Scene }).root, 0, 0);
  view.finalize();
  return boxes;
}

describe("the trade-off chart", () => {
  it("shows the quality range where the rules differ, naming the point cut off", async () => {
    const [lo, hi] = qualityDomain([...chart.curves, ...chart.references]);
    const outside = [...chart.curves, ...chart.references].filter(
      (p) => p.quality < lo || p.quality > hi,
    );
    expect(outside.map((p) => `${p.series} ${p.label}`)).toEqual(["patience 0.5"]);
    // The other points fill the height: none is squeezed into a corner of it.
    const inside = [...chart.curves, ...chart.references].filter((p) => !outside.includes(p));
    const span =
      Math.max(...inside.map((p) => p.quality)) - Math.min(...inside.map((p) => p.quality));
    expect(span / (hi - lo)).toBeGreaterThan(0.8);
    const svg = await renderSvg(tradeOffSpec(chart));
    expect(svg).toContain("Cut off (drawn on the edge): patience 0.5 (2.858)");
    expect(svg).toContain("below the chart");
  });

  it("draws no text over other text, the references named once, in the legend", async () => {
    const boxes = await textBoxes(chart);
    for (const name of ["full depth (fused)", "full depth (layer by layer)", "transformers.js"])
      expect(
        boxes.filter((b) => b.text === name),
        name,
      ).toHaveLength(1);
    for (const [i, a] of boxes.entries())
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
        expect(overlap, `"${a.text}" and "${b.text}"`).toBe(false);
      }
  });

  it("keeps every point when none is far off", () => {
    const close = chart.curves.filter((p) => p.quality > 3);
    const [lo, hi] = qualityDomain(close);
    for (const p of close) expect(p.quality >= lo && p.quality <= hi).toBe(true);
  });
});
