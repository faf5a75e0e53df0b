/**
 * Tables for the diff's renderings: plain text (columns two spaces apart, as src/cli/table.ts,
 * which this layer below the CLI cannot import) and GitHub-flavoured Markdown.
 */

/** Renders rows under headers as aligned plain text; every cell is a string. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function markdownRow(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function cell(c: string): string {
  return c.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Renders rows under headers as a Markdown table; `|` and line breaks in cells are escaped. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return [markdownRow(headers), `|${headers.map(() => ' --- ').join('|')}|`, ...rows.map(markdownRow)].join('\n');
}
