/** Reading the response headers the API uses to ask for patience: Retry-After and the rate-limit fields. */

/**
 * Milliseconds a response asks the caller to wait, from `Retry-After` given as delta-seconds or an
 * HTTP-date (RFC 9110 §10.2.3). Undefined when the header is absent or unreadable.
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  // An HTTP-date names its day and month; Date.parse alone would also take "-5" as a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What a response says about the caller's remaining allowance. */
export interface RateLimitReading {
  /** Requests left in the current window. */
  remaining: number;
  /** When the window resets, in epoch milliseconds. */
  resetAt: number;
  /** The window's limit, when the response says. */
  limit?: number;
}

/**
 * Reads `X-RateLimit-Remaining` / `X-RateLimit-Reset` (Unix seconds) and the IETF `RateLimit` field
 * (`"default";r=0;t=30`, draft-ietf-httpapi-ratelimit-headers). With several policies the most
 * restrictive wins: an exhausted one with the latest reset, else the one with the fewest requests left.
 */
export function readRateLimit(headers: Headers, now = Date.now()): RateLimitReading | undefined {
  const readings: RateLimitReading[] = [];
  const remaining = toNumber(headers.get('x-ratelimit-remaining'));
  const reset = toNumber(headers.get('x-ratelimit-reset'));
  if (remaining !== undefined && reset !== undefined) {
    // Unix seconds as documented; small values are read as delta-seconds, which some servers send.
    const resetAt = reset > 1e9 ? reset * 1000 : now + reset * 1000;
    readings.push({ remaining, resetAt, limit: toNumber(headers.get('x-ratelimit-limit')) });
  }
  for (const item of headers.get('ratelimit')?.split(',') ?? []) {
    const r = toNumber(/;\s*r=(\d+)/.exec(item)?.[1]);
    const t = toNumber(/;\s*t=(\d+)/.exec(item)?.[1]);
    if (r !== undefined && t !== undefined) readings.push({ remaining: r, resetAt: now + t * 1000 });
  }
  let worst: RateLimitReading | undefined;
  for (const reading of readings) {
    if (
      !worst ||
      reading.remaining < worst.remaining ||
      (reading.remaining === worst.remaining && reading.resetAt > worst.resetAt)
    ) {
      worst = reading;
    }
  }
  return worst;
}

function toNumber(value: string | null | undefined): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}
