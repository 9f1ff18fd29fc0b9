import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, maxAttempts, nextRetryDelayMs, retryPolicy, shouldDisable } from './schedule.ts';

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
