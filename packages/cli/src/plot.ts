// Quality against speed-up as a chart: a Vega-Lite specification rendered to SVG by Vega (no
// browser, no canvas), and to PNG by sharp.
import sharp from "sharp";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface TradeOffPoint {
  /** The curve the point belongs to (a rule), or a single reference point's name. */
  readonly series: string;
  readonly speedup: number;
  readonly quality: number;
  /** Shown next to the point (e.g. the lambda). */
  readonly label?: string;
}

export interface TradeOffChart {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  /** Points joined into one line per series, in the given order. */
  readonly curves: readonly TradeOffPoint[];
  /** Single points drawn as large marks (e.g. full depth, another library). */
  readonly references: readonly TradeOffPoint[];
}

export function tradeOffSpec(chart: TradeOffChart): TopLevelSpec {
  const x = { field: "speedup", type: "quantitative", title: chart.xTitle, scale: { zero: false } };
  const y = { field: "quality", type: "quantitative", title: chart.yTitle, scale: { zero: false } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: chart.title,
    width: 560,
    height: 360,
    background: "white",
    layer: [
      {
        data: { values: chart.curves.map((p, order) => ({ ...p, order })) },
        mark: { type: "line", point: true },
        encoding: {
          x,
          y,
          order: { field: "order", type: "quantitative" },
          color: { field: "series", type: "nominal", title: "rule" },
        },
      },
      {
        data: { values: chart.references },
        mark: { type: "point", filled: true, size: 120, shape: "diamond", color: "black" },
        encoding: { x, y },
      },
      {
        data: { values: chart.references },
        mark: { type: "text", dx: 8, align: "left", baseline: "middle", fontSize: 11 },
        encoding: { x, y, text: { field: "series" } },
      },
    ],
  } as TopLevelSpec;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
}
