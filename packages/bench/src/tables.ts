// Tables for people (aligned text, Markdown) and for programs (CSV): the one place a report's
// numbers are rounded for display.

export type Cell = string | number | boolean;

/** A number with at most `digits` decimals, trailing zeros dropped (default 4). */
export function formatNumber(value: number, digits = 4): string {
  return String(Number(value.toFixed(digits)));
}

/** Columns padded to their widest cell, a dashed rule under the header; ends with a newline. */
export function textTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [
    header,
    ...rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : String(c)))),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return (
    [
      line(cells[0]!),
      widths.map((w) => "-".repeat(w)).join("  "),
      ...cells.slice(1).map(line),
    ].join("\n") + "\n"
  );
}

/** RFC 4180 CSV, a cell quoted only when it holds a quote, comma or newline. */
export function csv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const quote = (c: Cell): string => {
    const s = String(c);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(quote).join(",")).join("\n") + "\n";
}

/** A table's rows as records of the given columns. */
export type Row<C extends string> = Readonly<Record<C, Cell>>;

/** A Markdown table, numbers to 3 decimals. */
export function markdownTable<C extends string>(
  columns: readonly C[],
  rows: readonly Row<C>[],
): string {
  const cell = (c: Cell) => (typeof c === "number" ? formatNumber(c, 3) : String(c));
  return [
    `| ${columns.join(" | ")} |`,
    `| ${columns.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${columns.map((h) => cell(r[h])).join(" | ")} |`),
  ].join("\n");
}

/** Records as an aligned text table (`textTable`) of the given columns. */
export function alignedTable<C extends string>(
  columns: readonly C[],
  rows: readonly Row<C>[],
): string {
  return textTable(
    columns,
    rows.map((r) => columns.map((h) => r[h])),
  );
}
