/**
 * When a failed webhook delivery is tried again, when it is abandoned, and when its endpoint is
 * switched off. The one place for these rules; packages/server/README.md ("Webhooks") documents them.
 */

/**
 * The default wait before each retry: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. With the first
 * attempt sent at once that is 8 attempts over about 27 h 35 min, after which the delivery is
 * abandoned (`failed`). Each wait is spread by ±20 % (jitter), so that deliveries that failed
 * together, say while a receiver was down, do not all come back at the same moment.
 */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/** How far each wait is spread, as a fraction of it, either way. */
export const DEFAULT_JITTER = 0.2;

/**
 * Failed attempts in a row (to any of its deliveries, since its last success) after which an
 * endpoint is switched off: 50, a receiver that failed every attempt of a day's schedule for
 * several events, or a burst of 50 events all refused. Its pending deliveries wait, and go out
 * once `PATCH is_active: true` switches it back on.
 */
export const DEFAULT_DISABLE_AFTER_FAILURES = 50;

export interface RetryPolicy {
  /** The wait before retry n (the n-th entry), in milliseconds; its length + 1 is the number of attempts. */
  delaysMs: readonly number[];
  /** Spread of each wait, a fraction in [0, 1). */
  jitter: number;
  /** Consecutive failed attempts that switch an endpoint off. */
  disableAfterFailures: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  delaysMs: DEFAULT_RETRY_DELAYS_MS,
  jitter: DEFAULT_JITTER,
  disableAfterFailures: DEFAULT_DISABLE_AFTER_FAILURES,
};

/** A policy from partial settings, checked: a bad value throws, naming it. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (policy.delaysMs.some((delay) => !Number.isFinite(delay) || delay < 0)) throw new Error('Webhook retry delays must be milliseconds, at least 0.');
  if (!(policy.jitter >= 0 && policy.jitter < 1)) throw new Error('Webhook retry jitter must be at least 0 and below 1.');
  if (!Number.isSafeInteger(policy.disableAfterFailures) || policy.disableAfterFailures < 1) {
    throw new Error('The failures that switch a webhook endpoint off must be a whole number, at least 1.');
  }
  return policy;
}

/** Attempts a delivery gets in all, the first included. */
export function maxAttempts(policy: RetryPolicy): number {
  return policy.delaysMs.length + 1;
}

/**
 * The wait before the next attempt of a delivery whose attempt number `attemptsMade` just failed,
 * or undefined when that was the last one and the delivery is abandoned.
 * @param random a number in [0, 1), for the jitter.
 * @param askedMs the wait the receiver asked for (`receiverRetryAfterMs`): the next attempt comes no
 *   earlier than that, up to the schedule's longest wait (`maxRetryAfterMs`), and never earlier than
 *   the schedule's own next step. It adds no attempt: the schedule still decides how many there are.
 */
export function nextRetryDelayMs(policy: RetryPolicy, attemptsMade: number, random: () => number = Math.random, askedMs?: number): number | undefined {
  const base = policy.delaysMs[attemptsMade - 1];
  if (base === undefined) return undefined;
  const scheduled = Math.max(0, Math.round(base * (1 + policy.jitter * (2 * random() - 1))));
  if (askedMs === undefined) return scheduled;
  return Math.max(scheduled, Math.min(Math.round(askedMs), maxRetryAfterMs(policy)));
}

/**
 * The longest wait a receiver's `Retry-After` can buy: the schedule's longest step (10 h by
 * default). A receiver asking for a week would otherwise hold its deliveries, and with them the
 * endpoint's count of failures, far past the day the schedule promises.
 */
export function maxRetryAfterMs(policy: RetryPolicy): number {
  return Math.max(0, ...policy.delaysMs);
}

/**
 * The wait a receiver asked for with `Retry-After` on a 429 (Too Many Requests) or a 503 (Service
 * Unavailable), the two answers RFC 9110 gives it meaning on for a retry: delta-seconds, or an
 * HTTP-date (read against `now`; one in the past asks for no wait). Undefined for any other status,
 * and when the header is absent or unreadable.
 */
export function receiverRetryAfterMs(statusCode: number | null, retryAfter: string | undefined, now = Date.now()): number | undefined {
  if (statusCode !== 429 && statusCode !== 503) return undefined;
  const value = retryAfter?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP-date names its day and month; Date.parse alone would also take "-5" or "12" as a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Whether an endpoint with this many failed attempts in a row is switched off. */
export function shouldDisable(policy: RetryPolicy, consecutiveFailures: number): boolean {
  return consecutiveFailures >= policy.disableAfterFailures;
}

/** The reason recorded on an endpoint switched off for its failures. */
export function disabledReason(consecutiveFailures: number): string {
  return `Switched off after ${consecutiveFailures} failed delivery attempts in a row; PATCH is_active: true switches it back on.`;
}
