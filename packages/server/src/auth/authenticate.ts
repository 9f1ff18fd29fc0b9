import { effectiveLimits, type Tier } from '@charter/contracts';
import type { Sql } from '@charter/db';
import type { Principal } from '../context.ts';
import { type KeyMode, digestKey, digestsEqual, isWellFormedApiKey, presentedKey } from './api-key.ts';

interface AuthRow {
  id: string;
  workspace_id: string;
  scopes: string[];
  mode: KeyMode;
  tier: Tier;
  rate_limit_per_minute: number | null;
  burst: number | null;
  daily_quota: number | null;
  last_used_at: Date | null;
  digest: Buffer;
}

/**
 * Resolves the key a request presents to its principal, or undefined. Malformed keys and bad
 * checksums are refused without touching the database; every well-formed key costs the same one
 * indexed lookup by digest, whether it exists or not. Expiry, revocation and the end of a
 * rotation's grace period are judged by the database clock, so every server process agrees.
 */
export async function authenticate(sql: Sql, headers: Parameters<typeof presentedKey>[0]): Promise<Principal | undefined> {
  const key = presentedKey(headers);
  if (!key || !isWellFormedApiKey(key)) return undefined;
  const digest = digestKey(key);
  const [row] = await sql<AuthRow[]>`
    select k.id, k.workspace_id, k.scopes, k.mode, k.tier, k.rate_limit_per_minute, k.burst, k.daily_quota,
           k.last_used_at, s.digest
    from api_key_secrets s
    join api_keys k on k.id = s.key_id
    where s.digest = ${digest}
      and k.revoked_at is null
      and (s.expires_at is null or s.expires_at > now())
      and (k.expires_at is null or k.expires_at > now())`;
  if (!row || !digestsEqual(row.digest, digest)) return undefined;
  const limits = effectiveLimits(row);
  return {
    keyId: row.id,
    workspaceId: row.workspace_id,
    scopes: row.scopes,
    mode: row.mode,
    perMinute: limits.perMinute,
    burst: limits.burst,
    dailyQuota: row.daily_quota,
    lastUsedAt: row.last_used_at,
  };
}

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
