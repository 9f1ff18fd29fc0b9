import type { LoadSample } from './load.ts';
import { median } from './stats.ts';

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

/** The throughput of a measurement in rounds: the median req/s, then each round's. */
export const RATE_COLUMNS: readonly Column[] = [
  { title: 'req/s', align: 'right' },
  { title: 'each round', align: 'right' },
];

export function rateCells(rounds: readonly LoadSample[]): string[] {
  return [formatCount(median(rounds.map((sample) => sample.requestsPerSecond))), rounds.map((sample) => formatCount(sample.requestsPerSecond)).join(' / ')];
}

/** The latency of a measurement in rounds: the medians of the rounds' p50 and p99. */
export const LATENCY_COLUMNS: readonly Column[] = [
  { title: 'p50 ms', align: 'right' },
  { title: 'p99 ms', align: 'right' },
];

export function latencyCells(rounds: readonly LoadSample[]): string[] {
  return [formatMs(median(rounds.map((sample) => sample.latencyP50Ms))), formatMs(median(rounds.map((sample) => sample.latencyP99Ms)))];
}
