/** kubectl's table layout: columns padded to the widest cell plus three spaces, the last column unpadded. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(6, h.length + 3, ...rows.map((r) => (r[i] ?? '').length + 3)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('')
      .trimEnd();
  return [headers, ...rows].map(line).join('\n') + '\n';
}
