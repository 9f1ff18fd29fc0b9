import { type ApiKey, effectiveLimits, type Tier } from '@charter/contracts';
import type { Queryable, TransactionSql } from '@charter/db';
import { generateApiKey, type KeyMode } from './auth/api-key.ts';
import { iso } from './handlers/serialize.ts';
import { newId } from './ids.ts';

export interface KeyRow {
  id: string;
  workspace_id: string;
  name: string;
  prefix: string;
  last4: string;
  mode: KeyMode;
  scopes: string[];
  tier: Tier;
  rate_limit_per_minute: number | null;
  burst: number | null;
  daily_quota: number | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface KeySettings {
  name: string;
  scopes: string[];
  mode: KeyMode;
  tier: Tier;
  rate_limit_per_minute?: number | null | undefined;
  burst?: number | null | undefined;
  daily_quota?: number | null | undefined;
  expires_at?: string | null | undefined;
}

export function toApiKey(row: KeyRow): ApiKey {
  const limits = effectiveLimits(row);
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    last4: row.last4,
    mode: row.mode,
    scopes: row.scopes,
    tier: row.tier,
    rate_limit_per_minute: limits.perMinute,
    burst: limits.burst,
    daily_quota: row.daily_quota,
    expires_at: row.expires_at && iso(row.expires_at),
    last_used_at: row.last_used_at && iso(row.last_used_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/**
 * Issues a key: a row for the key and one for its secret's digest. Returns the row and the
 * plaintext, which the caller shows once; nothing else ever sees it.
 */
export async function issueKey(tx: Queryable, workspaceId: string, settings: KeySettings): Promise<{ row: KeyRow; plaintext: string }> {
  const secret = generateApiKey(settings.mode);
  const id = newId('apiKey');
  const [row] = await tx<KeyRow[]>`
    insert into api_keys (id, workspace_id, name, prefix, last4, mode, scopes, tier, rate_limit_per_minute, burst, daily_quota, expires_at)
    values (${id}, ${workspaceId}, ${settings.name}, ${secret.prefix}, ${secret.last4}, ${settings.mode}, ${settings.scopes},
            ${settings.tier}, ${settings.rate_limit_per_minute ?? null}, ${settings.burst ?? null}, ${settings.daily_quota ?? null},
            ${settings.expires_at ?? null}::text::timestamptz)
    returning *`;
  await tx`insert into api_key_secrets (digest, key_id) values (${secret.digest}, ${id})`;
  return { row: row as KeyRow, plaintext: secret.plaintext };
}

/**
 * Gives a key a new secret. The previous secrets keep working until `graceEndsAt` (at the latest:
 * a second rotation never extends an earlier grace period).
 */
export async function rotateSecret(tx: TransactionSql, key: KeyRow, graceSeconds: number): Promise<{ row: KeyRow; plaintext: string; graceEndsAt: Date }> {
  const secret = generateApiKey(key.mode);
  const [ends] = await tx<{ at: Date }[]>`select (now() + make_interval(secs => ${graceSeconds}))::timestamptz(3) as at`;
  const graceEndsAt = (ends as { at: Date }).at;
  await tx`
    update api_key_secrets set expires_at = least(coalesce(expires_at, ${graceEndsAt}), ${graceEndsAt})
    where key_id = ${key.id}`;
  await tx`insert into api_key_secrets (digest, key_id) values (${secret.digest}, ${key.id})`;
  const [row] = await tx<KeyRow[]>`
    update api_keys set prefix = ${secret.prefix}, last4 = ${secret.last4}, updated_at = now()
    where id = ${key.id} returning *`;
  return { row: row as KeyRow, plaintext: secret.plaintext, graceEndsAt };
}
