/**
 * RFC 3339 allows what PostgreSQL's timestamptz input refuses: offsets beyond ±15:59 and year 0000.
 * Query bounds and stored times are therefore handed to SQL as UTC text, computed here. The
 * fraction is kept as written, so a bound keeps its sub-millisecond digits.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** The instant as `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, or null when it lies outside the years 0001–9999. */
export function utcInstant(value: string): string | null {
  const { year, text } = toUtc(value);
  return year < 1 || year > 9999 ? null : text;
}

/**
 * A query bound for a timestamptz comparison. Outside 0001–9999 no stored time can lie beyond
 * it, so the bound becomes PostgreSQL's ±infinity and the comparison keeps its meaning.
 */
export function boundInstant(value: string): string {
  const { year, text } = toUtc(value);
  return year < 1 ? '-infinity' : year > 9999 ? 'infinity' : text;
}

function toUtc(value: string): { year: number; text: string } {
  const match = RFC3339.exec(value);
  if (!match) throw new RangeError(`Not an RFC 3339 date-time: ${value}`);
  const [, fullYear, month, day, hour, minute, second, fraction = '', zone, sign, offsetHours, offsetMinutes] = match;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, takes years 0–99 literally.
  date.setUTCFullYear(Number(fullYear), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  if (zone !== 'Z' && zone !== 'z') {
    const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * (sign === '-' ? -1 : 1);
    date.setTime(date.getTime() - offset * 60_000);
  }
  const year = date.getUTCFullYear();
  const text = `${pad(Math.max(year, 0), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction}Z`;
  return { year, text };
}
