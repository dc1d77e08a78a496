/** Plain-text and markdown tables for terminal output (audit CLI, `npm start` summary, bench report). */

export type Align = "left" | "right";

/** Replaces control characters (ANSI escapes, newlines) so a stored value cannot rewrite the terminal. */
export function printable(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

/** Columns padded to their widest cell, two spaces apart, a dashed rule under the header. */
export function renderTextTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const cells = [headers, ...rows].map((row) => row.map((cell) => printable(cell)));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  const line = (row: readonly string[]) =>
    widths
      .map((width, column) => pad(row[column] ?? "", width, align[column] ?? "left"))
      .join("  ")
      .trimEnd();
  const [head, ...body] = cells;
  return [line(head ?? []), widths.map((width) => "-".repeat(width)).join("  "), ...body.map(line)].join(
    "\n",
  );
}

/** GitHub-flavoured markdown table; `|` inside cells is escaped. */
export function renderMarkdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const cell = (value: string) => printable(value).replace(/\|/g, "\\|");
  const rule = headers.map((_, column) => ((align[column] ?? "left") === "right" ? "---:" : "---"));
  return [headers, rule, ...rows]
    .map((row, index) => `| ${row.map((value) => (index === 1 ? value : cell(value))).join(" | ")} |`)
    .join("\n");
}

function pad(value: string, width: number, align: Align): string {
  return align === "right" ? value.padStart(width) : value.padEnd(width);
}
