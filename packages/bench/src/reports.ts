// The one place report folders are written: the measurements return plain rows or objects;
// this module turns a table of them into Markdown, CSV, JSON and a plot.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderSvg, svgToPng, tradeOffSpec, type TradeOffChart } from "./plot.js";
import { csv, markdownTable, type Row } from "./tables.js";

export interface TableReport<C extends string> {
  /** File name without extension: NAME.md, .csv, .json (and .svg, .png with a plot). */
  readonly name: string;
  /** One sentence saying what was measured and with which command (the Markdown's first line). */
  readonly caption: string;
  readonly columns: readonly C[];
  readonly rows: readonly Row<C>[];
  /** Settings of the run, kept beside the rows in the JSON. */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly plot?: TradeOffChart;
}

/** Writes a report folder; returns the file names written. */
export async function writeTableReport<C extends string>(
  dir: string,
  report: TableReport<C>,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string | Buffer][] = [
    [
      `${report.name}.csv`,
      csv(
        report.columns,
        report.rows.map((r) => report.columns.map((h) => r[h])),
      ),
    ],
    [`${report.name}.md`, `${report.caption}\n\n${markdownTable(report.columns, report.rows)}\n`],
    [`${report.name}.json`, JSON.stringify({ ...report.meta, rows: report.rows }, null, 2) + "\n"],
  ];
  if (report.plot !== undefined) {
    const svg = await renderSvg(tradeOffSpec(report.plot));
    files.push([`${report.name}.svg`, svg], [`${report.name}.png`, await svgToPng(svg)]);
  }
  for (const [file, content] of files) await writeFile(join(dir, file), content);
  return files.map(([file]) => file);
}
