export interface Column {
  title: string;
  align?: 'left' | 'right';
}

/** A plain-text table: space-padded columns under a dashed rule, readable in any log. */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, index) => Math.max(column.title.length, ...rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, index) => (columns[index]?.align === 'right' ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.title)), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(value: number): string {
  return whole.format(value);
}

export function formatRatio(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : '-';
}

/** autocannon records latency in whole milliseconds, so 0 means under one. */
export function formatMs(value: number): string {
  return value < 1 ? '<1' : whole.format(value);
}
