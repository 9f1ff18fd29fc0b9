import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, maxAttempts, maxRetryAfterMs, nextRetryDelayMs, receiverRetryAfterMs, retryPolicy, shouldDisable } from './schedule.ts';

describe('webhook retry schedule', () => {
  it('makes 8 attempts over about a day, then abandons', () => {
    const policy = DEFAULT_RETRY_POLICY;
    expect(maxAttempts(policy)).toBe(8);
    const middle = () => 0.5;
    const delays = [1, 2, 3, 4, 5, 6, 7].map((attempt) => nextRetryDelayMs(policy, attempt, middle));
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    const total = delays.reduce((sum: number, delay) => sum + (delay ?? 0), 0);
    expect(total / 3_600_000).toBeGreaterThan(24);
    expect(total / 3_600_000).toBeLessThan(30);
    expect(nextRetryDelayMs(policy, 8, middle)).toBeUndefined();
  });

  it('grows each wait and spreads it by the jitter, both ways', () => {
    const policy = DEFAULT_RETRY_POLICY;
    expect(nextRetryDelayMs(policy, 3, () => 0)).toBe(1_800_000 * 0.8);
    expect(nextRetryDelayMs(policy, 3, () => 0.999_999)).toBeCloseTo(1_800_000 * 1.2, -2);
    const spread = new Set(Array.from({ length: 50 }, () => nextRetryDelayMs(policy, 2)));
    expect(spread.size).toBeGreaterThan(40);
    for (const delay of spread) {
      expect(delay).toBeGreaterThanOrEqual(240_000);
      expect(delay).toBeLessThanOrEqual(360_000);
    }
    for (let attempt = 1; attempt < 6; attempt += 1) {
      // The smallest next wait exceeds the largest one before: jitter never reorders the schedule.
      expect(nextRetryDelayMs(policy, attempt + 1, () => 0)).toBeGreaterThan(nextRetryDelayMs(policy, attempt, () => 0.999_999) ?? 0);
    }
  });

  it('takes a shorter schedule (as tests do) and checks it', () => {
    const fast = retryPolicy({ delaysMs: [10, 10, 10], jitter: 0, disableAfterFailures: 3 });
    expect(maxAttempts(fast)).toBe(4);
    expect(nextRetryDelayMs(fast, 3)).toBe(10);
    expect(nextRetryDelayMs(fast, 4)).toBeUndefined();
    expect(shouldDisable(fast, 2)).toBe(false);
    expect(shouldDisable(fast, 3)).toBe(true);
    expect(() => retryPolicy({ delaysMs: [-1] })).toThrow(/delays/);
    expect(() => retryPolicy({ jitter: 1 })).toThrow(/jitter/);
    expect(() => retryPolicy({ disableAfterFailures: 0 })).toThrow(/switch/);
  });

  it('switches an endpoint off after 50 failed attempts in a row by default', () => {
    expect(shouldDisable(DEFAULT_RETRY_POLICY, 49)).toBe(false);
    expect(shouldDisable(DEFAULT_RETRY_POLICY, 50)).toBe(true);
  });
});

describe("a receiver's Retry-After", () => {
  const NOW = Date.parse('2030-01-01T00:00:00Z');

  it('is read on a 429 or a 503, as delta-seconds or an HTTP-date; otherwise ignored', () => {
    expect(receiverRetryAfterMs(429, '120', NOW)).toBe(120_000);
    expect(receiverRetryAfterMs(503, ' 0 ', NOW)).toBe(0);
    expect(receiverRetryAfterMs(503, 'Tue, 01 Jan 2030 00:10:00 GMT', NOW)).toBe(600_000);
    // The obsolete forms RFC 9110 still asks recipients to read.
    expect(receiverRetryAfterMs(503, 'Tuesday, 01-Jan-30 00:10:00 GMT', NOW)).toBe(600_000);
    expect(receiverRetryAfterMs(429, 'Mon, 31 Dec 2029 23:00:00 GMT', NOW)).toBe(0);
    for (const unreadable of [undefined, '', 'soon', 'next week', '-5', '1.5']) expect(receiverRetryAfterMs(429, unreadable, NOW), String(unreadable)).toBeUndefined();
    for (const status of [500, 502, 301, 410, 200, null]) expect(receiverRetryAfterMs(status, '120', NOW), String(status)).toBeUndefined();
  });

  it('delays the next attempt to what it asks, up to the longest step, and never before the schedule', () => {
    const policy = DEFAULT_RETRY_POLICY;
    const middle = () => 0.5;
    expect(maxRetryAfterMs(policy)).toBe(36_000_000);
    // After attempt 1 the schedule waits 5 s: a receiver asking for 2 minutes gets them.
    expect(nextRetryDelayMs(policy, 1, middle, 120_000)).toBe(120_000);
    // Asking for less than the schedule changes nothing (jitter included).
    expect(nextRetryDelayMs(policy, 3, () => 0, 60_000)).toBe(1_800_000 * 0.8);
    expect(nextRetryDelayMs(policy, 1, middle, 0)).toBe(5_000);
    // Asking for a week gets the longest step, 10 h.
    expect(nextRetryDelayMs(policy, 1, middle, 7 * 24 * 3_600_000)).toBe(36_000_000);
    // It adds no attempt: after the last one the delivery is abandoned all the same.
    expect(nextRetryDelayMs(policy, 8, middle, 60_000)).toBeUndefined();
  });
});
