import { type TransactionSql, transaction } from '@charter/db';
import { unauthorized } from '../auth/enforce-contract.ts';
import { assertWithinCaller } from '../auth/key-management.ts';
import { notFound, validationFailed } from '../errors.ts';
import { utcInstant } from '../instants.ts';
import { issueKey, type KeyRow, rotateSecret, toApiKey } from '../keys.ts';
import { servePage } from '../lists.ts';
import { q } from '../sql-text.ts';
import { recordEvent } from '../webhooks/outbox.ts';
import { iso } from './serialize.ts';
import type { Handler } from './types.ts';

/** The expiry as UTC text SQL can store, refusing the past and what lies beyond the year 9999. */
function futureInstant<T extends string | null | undefined>(expiresAt: T): T {
  if (!expiresAt) return expiresAt;
  if (Date.parse(expiresAt) <= Date.now()) throw validationFailed({ expires_at: ['The expires_at field must be in the future.'] });
  const utc = utcInstant(expiresAt);
  if (utc === null) throw validationFailed({ expires_at: ['The expires_at field must lie before the year 10000 (UTC).'] });
  return utc as T;
}

/** One-module scopes must name a module of this workspace. */
async function assertScopeTargetsExist(tx: TransactionSql, workspaceId: string, scopes: readonly string[]): Promise<void> {
  const targets = [...new Set(scopes.map((scope) => scope.split(':')[2]).filter((id): id is string => id !== undefined))];
  if (targets.length === 0) return;
  const found = await tx<{ id: string }[]>`select id from modules where workspace_id = ${workspaceId} and id = any(${targets})`;
  const missing = targets.filter((id) => !found.some((row) => row.id === id));
  if (missing.length > 0) throw validationFailed({ scopes: missing.map((id) => `Scope names module ${id}, which does not exist in this workspace.`) });
}

async function findKey(tx: TransactionSql, workspaceId: string, keyId: string): Promise<KeyRow> {
  const [row] = await tx<KeyRow[]>`
    select * from api_keys where id = ${keyId} and workspace_id = ${workspaceId} and revoked_at is null for update`;
  if (!row) throw notFound('API key');
  return row;
}

export const listApiKeys: Handler<'listApiKeys'> = async (ctx, input) => {
  const { principal } = ctx;
  const where = [q`workspace_id = ${principal.workspaceId}`, q`revoked_at is null`];
  const sortTypes = { created_at: 'timestamptz', updated_at: 'timestamptz', name: 'text', id: 'text' } as const;
  return servePage(ctx, { table: 'api_keys', where, sortTypes }, input, (row: KeyRow & Record<string, unknown>) => toApiKey(row));
};

export const createApiKey: Handler<'createApiKey'> = async ({ sql, principal }, input) => {
  const expiresAt = futureInstant(input.expires_at);
  const settings = {
    ...input,
    scopes: [...new Set(input.scopes)],
    rate_limit_per_minute: input.rate_limit_per_minute ?? null,
    burst: input.burst ?? null,
    daily_quota: input.daily_quota ?? null,
    expires_at: expiresAt ?? null,
  };
  assertWithinCaller(principal, settings, 'grant');
  return transaction(sql, async (tx) => {
    await assertScopeTargetsExist(tx, principal.workspaceId, settings.scopes);
    const { row, plaintext } = await issueKey(tx, principal.workspaceId, settings);
    await recordEvent(tx, principal.workspaceId, 'api_key.created', toApiKey(row));
    return { ...toApiKey(row), key: plaintext };
  });
};

export const getApiKey: Handler<'getApiKey'> = async ({ sql, principal }, input) => {
  const [row] = await sql<KeyRow[]>`
    select * from api_keys where id = ${input.key_id} and workspace_id = ${principal.workspaceId} and revoked_at is null`;
  if (!row) throw notFound('API key');
  return toApiKey(row);
};

/** The calling key and its workspace, read by the key's id alone: it can show nothing of another key or workspace. */
export const getCurrentApiKey: Handler<'getCurrentApiKey'> = async ({ sql, principal }) => {
  const [row] = await sql<(KeyRow & { workspace_name: string })[]>`
    select k.*, w.name as workspace_name from api_keys k join workspaces w on w.id = k.workspace_id
    where k.id = ${principal.keyId} and k.workspace_id = ${principal.workspaceId} and k.revoked_at is null`;
  // Revoked between admission and this read: the key is no longer valid.
  if (!row) throw unauthorized();
  return { key: toApiKey(row), workspace: { id: row.workspace_id, name: row.workspace_name }, secret_in_grace: principal.secretInGrace };
};

export const updateApiKey: Handler<'updateApiKey'> = async ({ sql, principal }, input) =>
  transaction(sql, async (tx) => {
    const current = await findKey(tx, principal.workspaceId, input.key_id);
    assertWithinCaller(principal, current, 'manage');
    const pick = <K extends 'rate_limit_per_minute' | 'burst' | 'daily_quota'>(field: K) =>
      input[field] === undefined ? current[field] : (input[field] ?? null);
    const next = {
      tier: input.tier ?? current.tier,
      rate_limit_per_minute: pick('rate_limit_per_minute'),
      burst: pick('burst'),
      daily_quota: pick('daily_quota'),
    };
    const expiresAt = input.expires_at === undefined ? (current.expires_at && iso(current.expires_at)) : futureInstant(input.expires_at);
    assertWithinCaller(principal, { ...current, ...next, expires_at: expiresAt }, 'grant');
    const [row] = await tx<KeyRow[]>`
      update api_keys set
        name = ${input.name ?? current.name},
        tier = ${next.tier},
        rate_limit_per_minute = ${next.rate_limit_per_minute},
        burst = ${next.burst},
        daily_quota = ${next.daily_quota},
        expires_at = ${expiresAt}::text::timestamptz,
        updated_at = now()
      where id = ${current.id}
      returning *`;
    return toApiKey(row as KeyRow);
  });

export const revokeApiKey: Handler<'revokeApiKey'> = async ({ sql, principal }, input) =>
  transaction(sql, async (tx) => {
    const current = await findKey(tx, principal.workspaceId, input.key_id);
    assertWithinCaller(principal, current, 'manage');
    const [row] = await tx<KeyRow[]>`update api_keys set revoked_at = now(), updated_at = now() where id = ${current.id} returning *`;
    await recordEvent(tx, principal.workspaceId, 'api_key.revoked', toApiKey(row as KeyRow));
  });

export const rotateApiKey: Handler<'rotateApiKey'> = async ({ sql, principal }, input) =>
  transaction(sql, async (tx) => {
    const current = await findKey(tx, principal.workspaceId, input.key_id);
    assertWithinCaller(principal, current, 'manage');
    const rotated = await rotateSecret(tx, current, Math.round(input.grace_period_hours * 3600));
    await recordEvent(tx, principal.workspaceId, 'api_key.rotated', toApiKey(rotated.row));
    return { ...toApiKey(rotated.row), key: rotated.plaintext, grace_period_ends_at: iso(rotated.graceEndsAt) };
  });
