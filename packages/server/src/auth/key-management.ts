import { effectiveLimits, scopesCover, type Tier } from '@charter/contracts';
import type { Principal } from '../context.ts';
import { ApiError } from '../errors.ts';
import type { KeyMode } from './api-key.ts';

/** What bounds a key: its scopes, mode, limits and lifetime (a new key's, or a stored one's). */
export interface KeyBounds {
  scopes: readonly string[];
  mode: KeyMode;
  tier: Tier;
  rate_limit_per_minute: number | null;
  burst: number | null;
  daily_quota: number | null;
  /** A Date from the database, UTC text from the request, or null for no expiry. */
  expires_at: Date | string | null;
}

/**
 * What the caller does with the key: `grant` for the settings of a key it creates or of the
 * values a patch leaves, `manage` for an existing key it patches, revokes or rotates.
 */
export type KeyAction = 'grant' | 'manage';

/**
 * The one rule of key management (create, patch, revoke, rotate): a caller acts only on keys that
 * lie within its own rights, so that no key can widen, shorten the life of, throttle or remove a
 * key that holds more than it does, nor make one that outlives it. 403 `access_denied` otherwise,
 * naming the reason. Within means: every scope covered by the caller's, a test caller only on test
 * keys, effective per-minute limit, burst and daily quota no larger, and no expiry later than the
 * caller's own (none at all when the caller has one). A previous secret in its rotation's grace
 * period manages nothing: otherwise the holder of an old secret could rotate the owner out.
 */
export function assertWithinCaller(caller: Principal, key: KeyBounds, action: KeyAction): void {
  if (caller.secretInGrace) {
    throw new ApiError(
      'access_denied',
      'Insufficient permissions. This secret was replaced by a rotation and is in its grace period: it can call the API but cannot manage keys. Use the key\'s current secret.',
    );
  }
  const uncovered = key.scopes.filter((scope) => !scopesCover(caller.scopes, [scope]));
  if (uncovered.length > 0) {
    const what = action === 'grant' ? 'grant scopes it does not hold' : 'manage a key holding scopes it does not hold';
    throw new ApiError('access_denied', `Insufficient permissions. A key cannot ${what}: ${uncovered.join(', ')}`, { required_scopes: uncovered });
  }
  const problems: string[] = [];
  if (caller.mode === 'test' && key.mode !== 'test') problems.push('a test key can only issue and manage test keys');
  const limits = effectiveLimits(key);
  if (limits.perMinute > caller.perMinute) problems.push(`rate_limit_per_minute ${limits.perMinute} exceeds this key's ${caller.perMinute}`);
  if (limits.burst > caller.burst) problems.push(`burst ${limits.burst} exceeds this key's ${caller.burst}`);
  if (caller.dailyQuota !== null && (key.daily_quota === null || key.daily_quota > caller.dailyQuota)) {
    problems.push(`daily_quota must be at most this key's ${caller.dailyQuota}`);
  }
  if (caller.expiresAt !== null) {
    const expiresAt = key.expires_at === null ? null : latestMillisecond(key.expires_at);
    if (expiresAt === null || expiresAt > caller.expiresAt.getTime()) {
      problems.push(`expires_at must be set and no later than this key's own expiry, ${caller.expiresAt.toISOString()}`);
    }
  }
  if (problems.length > 0) {
    const what = action === 'grant' ? 'grant limits beyond its own' : 'manage a key whose limits lie beyond its own';
    throw new ApiError('access_denied', `Insufficient permissions. A key cannot ${what}: ${problems.join('; ')}.`);
  }
}

/**
 * The millisecond an instant is stored as, rounded up: the database keeps milliseconds, rounding
 * to the nearest, so `…00.0006Z` would otherwise compare as `…00.000Z` and be stored as `…00.001Z`.
 */
function latestMillisecond(instant: Date | string): number {
  if (instant instanceof Date) return instant.getTime();
  const fraction = /\.\d{3}(\d+)/.exec(instant)?.[1] ?? '';
  return Date.parse(instant) + (/[1-9]/.test(fraction) ? 1 : 0);
}
