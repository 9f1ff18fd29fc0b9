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

const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Days in a month of the proleptic Gregorian calendar. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Whether a year, month and day name a day that exists, in the years 0001–9999 that both
 * PostgreSQL and JavaScript handle alike. Date.parse cannot tell: it reads 2026-02-30 as March 2.
 */
export function isCalendarDay(year: number, month: number, day: number): boolean {
  return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** A wall-clock time of a real day: 00:00:00 to 23:59:59 (no leap second). */
export function isClockTime(hour: number, minute: number, second: number): boolean {
  return hour <= 23 && minute <= 59 && second <= 59;
}

/**
 * A record's `date` value: `YYYY-MM-DD`, or a date-time `YYYY-MM-DDTHH:MM[:SS[.ffffff]]` with `Z`
 * or an offset. The day must exist in the years 0001–9999, the time be 00:00–23:59:59 (no leap
 * second), and an offset lie within RFC 3339's ±23:59, as query bounds take.
 */
export function isRecordDate(value: string): boolean {
  const date = CALENDAR_DATE.exec(value);
  if (date) return isCalendarDay(Number(date[1]), Number(date[2]), Number(date[3]));
  const dateTime = LOCAL_DATE_TIME.exec(value);
  if (!dateTime) return false;
  const [, year, month, day, hour, minute, second = '0', offsetHours = '0', offsetMinutes = '0'] = dateTime;
  return (
    isCalendarDay(Number(year), Number(month), Number(day)) &&
    isClockTime(Number(hour), Number(minute), Number(second)) &&
    Number(offsetHours) <= 23 &&
    Number(offsetMinutes) <= 59
  );
}
