import { ApiError } from '../errors.ts';

/** One limit's state after counting a request: what the rate-limit headers report. */
export interface PolicyState {
  /** The policy's name in the IETF `RateLimit-Policy` and `RateLimit` fields. */
  name: 'minute' | 'day';
  /** Requests allowed per window (for a key: its per-minute limit plus its burst). */
  limit: number;
  /** Requests left in the window after this one. */
  remaining: number;
  windowSeconds: number;
  /** When the window ends (and the counter starts again). */
  resetAt: Date;
  /** Whole seconds until then, rounded up: never earlier than a request would be admitted. */
  resetSeconds: number;
  exceeded: boolean;
}

/** The outcome of counting one request against every limit that applies to it. */
export interface RateDecision {
  admitted: boolean;
  policies: PolicyState[];
}

/** The state of one fixed window, from its counter row and the database's clock. */
export function policyState(
  name: PolicyState['name'],
  limit: number,
  count: number,
  windowStart: Date,
  windowSeconds: number,
  databaseNow: Date,
): PolicyState {
  const resetAt = new Date(windowStart.getTime() + windowSeconds * 1000);
  return {
    name,
    limit,
    remaining: Math.max(0, limit - count),
    windowSeconds,
    resetAt,
    resetSeconds: Math.max(1, Math.ceil((resetAt.getTime() - databaseNow.getTime()) / 1000)),
    exceeded: count > limit,
  };
}

export function decide(policies: PolicyState[]): RateDecision {
  return { admitted: policies.every((policy) => !policy.exceeded), policies };
}

/** The policy the X-RateLimit-* headers describe: an exceeded one, else the one with least left. */
function binding(decision: RateDecision): PolicyState {
  const exceeded = decision.policies.filter((policy) => policy.exceeded);
  const candidates = exceeded.length > 0 ? exceeded : decision.policies;
  return candidates.reduce((worst, policy) =>
    exceeded.length > 0
      ? policy.resetSeconds > worst.resetSeconds ? policy : worst
      : policy.remaining < worst.remaining ? policy : worst,
  );
}

/**
 * The headers every counted response carries: GitHub-style `X-RateLimit-*` for the binding
 * policy, and the IETF `RateLimit-Policy` / `RateLimit` fields with one named policy per limit.
 */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const bound = binding(decision);
  return {
    'X-RateLimit-Limit': String(bound.limit),
    'X-RateLimit-Remaining': String(bound.remaining),
    'X-RateLimit-Reset': String(Math.ceil(bound.resetAt.getTime() / 1000)),
    'RateLimit-Policy': decision.policies.map((p) => `"${p.name}";q=${p.limit};w=${p.windowSeconds}`).join(', '),
    RateLimit: decision.policies.map((p) => `"${p.name}";r=${p.remaining};t=${p.resetSeconds}`).join(', '),
  };
}

/** The 429 for a refused request, with `Retry-After` equal to the wait until it would be admitted. */
export function rateLimitExceeded(decision: RateDecision): ApiError {
  const bound = binding(decision);
  const retryAfter = Math.max(...decision.policies.filter((p) => p.exceeded).map((p) => p.resetSeconds));
  const what = bound.name === 'day' ? 'Daily quota exceeded' : 'Too many requests';
  return new ApiError(
    'rate_limit_exceeded',
    `${what}. Please retry after ${retryAfter} ${retryAfter === 1 ? 'second' : 'seconds'}.`,
    { retry_after: retryAfter, limit: bound.limit, remaining: 0, reset_at: bound.resetAt.toISOString() },
    { 'Retry-After': String(retryAfter) },
  );
}
