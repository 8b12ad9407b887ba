// Tables for people (aligned text) and for programs (CSV).

export type Cell = string | number | boolean;

export function formatNumber(value: number, digits = 4): string {
  return String(Number(value.toFixed(digits)));
}

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

export function csv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const quote = (c: Cell): string => {
    const s = String(c);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(quote).join(",")).join("\n") + "\n";
}
