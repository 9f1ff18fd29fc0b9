import { describe, expect, it } from 'vitest';
import { isCalendarDay, isRecordDate } from './instants.ts';

describe('isCalendarDay', () => {
  it('knows month lengths and the Gregorian leap years, in the years 0001–9999', () => {
    expect(isCalendarDay(2024, 2, 29)).toBe(true);
    expect(isCalendarDay(2000, 2, 29)).toBe(true);
    expect(isCalendarDay(1900, 2, 29)).toBe(false);
    expect(isCalendarDay(2026, 2, 30)).toBe(false);
    expect(isCalendarDay(2026, 4, 31)).toBe(false);
    expect(isCalendarDay(2026, 13, 1)).toBe(false);
    expect(isCalendarDay(0, 1, 1)).toBe(false);
    expect(isCalendarDay(10_000, 1, 1)).toBe(false);
  });
});

describe('isRecordDate', () => {
  it('takes dates and date-times that exist, and nothing Date.parse would roll over', () => {
    for (const value of ['2026-11-22', '2026-11-22T08:15Z', '2026-11-22T08:15:30.123456+23:59', '0001-01-01', '9999-12-31T23:59:59-23:59']) {
      expect(isRecordDate(value), value).toBe(true);
    }
    for (const value of ['2026-02-30', '2026-02-30T00:00:00Z', '2026-13-01', '0000-01-01', '2026-01-01T24:00:00Z', '2026-01-01T00:60Z', '2026-01-01T00:00:60Z', '2026-01-01T00:00:00+24:00', '2026-01-01T00:00:00+01:60', '2026-01-01T00:00:00', '2026-1-1']) {
      expect(isRecordDate(value), value).toBe(false);
    }
  });
});
