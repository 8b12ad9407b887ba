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

/**
 * The quality range the chart shows: where the points are, without the far outliers that would
 * squeeze the rest into a sliver. The bounds are the extremes of the points within 3 interquartile
 * ranges of the quartiles (Tukey's far-out fences), padded by 5%; points outside are cut off.
 */
export function qualityDomain(points: readonly TradeOffPoint[]): [number, number] {
  const q = points.map((p) => p.quality).sort((a, b) => a - b);
  const at = (f: number) => {
    const i = (q.length - 1) * f;
    return q[Math.floor(i)]! + (q[Math.ceil(i)]! - q[Math.floor(i)]!) * (i - Math.floor(i));
  };
  const [q1, q3] = [at(0.25), at(0.75)];
  const inside = q.filter((v) => v >= q1 - 3 * (q3 - q1) && v <= q3 + 3 * (q3 - q1));
  const [lo, hi] = [inside[0]!, inside.at(-1)!];
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.01 || 0.01;
  return [lo - pad, hi + pad];
}

/** "patience 0.5 (2.858)": a cut-off point as the subtitle names it. */
function cutName(p: TradeOffPoint): string {
  return `${p.series}${p.label === undefined ? "" : ` ${p.label}`} (${p.quality.toPrecision(4)})`;
}

/**
 * The chart: one line per rule, the references as black marks of their own shapes named in a
 * legend (never as text beside the points, so no two labels can overlap), and the quality axis
 * over `qualityDomain`: a point outside it is drawn on the edge as a hollow triangle pointing
 * off the chart and named in the subtitle with its value.
 */
export function tradeOffSpec(chart: TradeOffChart): TopLevelSpec {
  const [lo, hi] = qualityDomain([...chart.curves, ...chart.references]);
  const place = (p: TradeOffPoint) => ({
    ...p,
    shown: Math.min(hi, Math.max(lo, p.quality)),
    cut: p.quality < lo ? "below the chart" : p.quality > hi ? "above the chart" : "shown",
  });
  const curves = chart.curves.map((p, order) => ({ ...place(p), order }));
  const references = chart.references.map(place);
  const cut = [...chart.curves, ...chart.references].filter(
    (p) => p.quality < lo || p.quality > hi,
  );
  const x = { field: "speedup", type: "quantitative", title: chart.xTitle, scale: { zero: false } };
  const y = {
    field: "shown",
    type: "quantitative",
    title: chart.yTitle,
    scale: { domain: [lo, hi], nice: false, zero: false },
  };
  const shape = {
    field: "cut",
    type: "nominal",
    title: "point",
    scale: {
      domain: ["shown", "below the chart", "above the chart"],
      range: ["circle", "triangle-down", "triangle-up"],
    },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: chart.title,
      ...(cut.length > 0 && {
        subtitle: `Cut off (drawn on the edge): ${cut.map(cutName).join(", ")}`,
      }),
    },
    width: 560,
    height: 360,
    background: "white",
    config: { legend: { labelLimit: 320 } },
    layer: [
      {
        data: { values: curves },
        mark: { type: "line" },
        encoding: {
          x,
          y,
          order: { field: "order", type: "quantitative" },
          color: { field: "series", type: "nominal", title: "rule" },
        },
      },
      {
        data: { values: curves },
        mark: { type: "point", filled: true, size: 40 },
        encoding: { x, y, color: { field: "series", type: "nominal", title: "rule" }, shape },
      },
      {
        data: { values: references },
        mark: { type: "point", filled: true, size: 120, color: "black" },
        encoding: {
          x,
          y,
          shape: {
            field: "series",
            type: "nominal",
            title: "reference",
            scale: { range: ["diamond", "square", "cross", "triangle-right", "wedge"] },
          },
        },
      },
    ],
    resolve: { scale: { shape: "independent" }, legend: { shape: "independent" } },
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
