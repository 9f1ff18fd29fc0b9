import type { Sql } from '@charter/db';
import type { Principal } from '../context.ts';

const LAST_USED_RESOLUTION_MS = 60_000;
const recentlyTouched = new Map<string, number>();

/**
 * Keeps `last_used_at` current to the minute without a write on every request: at most one
 * update per key per minute per process, sent without waiting for it.
 */
export function touchLastUsed(sql: Sql, principal: Principal, onError: (error: unknown) => void): void {
  const now = Date.now();
  const stored = principal.lastUsedAt?.getTime() ?? 0;
  const touched = recentlyTouched.get(principal.keyId) ?? 0;
  if (now - Math.max(stored, touched) < LAST_USED_RESOLUTION_MS) return;
  recentlyTouched.set(principal.keyId, now);
  if (recentlyTouched.size > 10_000) recentlyTouched.clear();
  sql`
    update api_keys set last_used_at = now()
    where id = ${principal.keyId} and (last_used_at is null or last_used_at < now() - interval '1 minute')`.catch(onError);
}
