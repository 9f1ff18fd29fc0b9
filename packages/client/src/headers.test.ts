import { describe, expect, it } from 'vitest';
import { readRateLimit, retryAfterMs } from './headers.ts';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const headers = (init: Record<string, string>) => new Headers(init);

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP-dates', () => {
    expect(retryAfterMs(headers({ 'retry-after': '14' }), NOW)).toBe(14_000);
    expect(retryAfterMs(headers({ 'retry-after': '0' }), NOW)).toBe(0);
    expect(retryAfterMs(headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' }), NOW)).toBe(30_000);
    expect(retryAfterMs(headers({ 'retry-after': 'Mon, 31 Dec 2029 23:00:00 GMT' }), NOW)).toBe(0);
  });

  it('ignores a missing or unreadable header', () => {
    expect(retryAfterMs(headers({}), NOW)).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': '-5' }), NOW)).toBeUndefined();
  });
});

describe('readRateLimit', () => {
  it('reads X-RateLimit-* with the reset in Unix seconds', () => {
    const reading = readRateLimit(headers({ 'x-ratelimit-limit': '120', 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': String(NOW / 1000 + 30) }), NOW);
    expect(reading).toEqual({ limit: 120, remaining: 7, resetAt: NOW + 30_000 });
  });

  it('reads the IETF RateLimit field and keeps its most restrictive policy', () => {
    const reading = readRateLimit(headers({ ratelimit: '"minute";r=50;t=30, "day";r=0;t=3600' }), NOW);
    expect(reading).toEqual({ remaining: 0, resetAt: NOW + 3_600_000 });
  });

  it('prefers an exhausted policy over one with allowance left', () => {
    const reading = readRateLimit(
      headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 + 10), ratelimit: '"default";r=0;t=20' }),
      NOW,
    );
    expect(reading?.resetAt).toBe(NOW + 20_000);
  });

  it('is undefined without rate-limit headers', () => {
    expect(readRateLimit(headers({ 'x-ratelimit-remaining': '3' }), NOW)).toBeUndefined();
    expect(readRateLimit(headers({}), NOW)).toBeUndefined();
  });
});
