import { decide, policyState, type RateDecision } from './rate-limit.ts';

/**
 * Per-address limits for the public routes (/health, the documents, /docs), counted in this
 * process's memory: those routes must keep answering while the database is down, so they cannot
 * depend on the counter statement. Fixed one-minute windows, like every other limit. Only the
 * current window is kept, and at most `maxAddresses` of them: beyond that, new addresses share one
 * overflow counter, so that a flood of spoofed sources cannot grow memory.
 */
export function memoryAddressLimiter(limitPerMinute: number, maxAddresses = 100_000) {
  let windowStart = 0;
  const counts = new Map<string, number>();
  return function admitPublic(address: string, now = Date.now()): RateDecision {
    const start = Math.floor(now / 60_000) * 60_000;
    if (start !== windowStart) {
      windowStart = start;
      counts.clear();
    }
    const subject = counts.has(address) || counts.size < maxAddresses ? address : '*overflow';
    const count = (counts.get(subject) ?? 0) + 1;
    counts.set(subject, count);
    return decide([policyState('minute', limitPerMinute, count, new Date(start), 60, new Date(now))]);
  };
}
