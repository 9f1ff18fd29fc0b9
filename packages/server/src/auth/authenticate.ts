import type { Sql } from '@charter/db';
import type { Principal } from '../context.ts';
import { digestKey, digestsEqual, isWellFormedApiKey, presentedKey } from './api-key.ts';

/**
 * Resolves the key a request presents to its principal, or undefined. Malformed keys and bad
 * checksums are refused without touching the database; every well-formed key costs the same one
 * indexed lookup by digest, whether it exists or not. Expiry and revocation are judged by the
 * database clock, so every server process agrees on them.
 */
export async function authenticate(sql: Sql, headers: Parameters<typeof presentedKey>[0]): Promise<Principal | undefined> {
  const key = presentedKey(headers);
  if (!key || !isWellFormedApiKey(key)) return undefined;
  const digest = digestKey(key);
  const [row] = await sql<{ id: string; workspace_id: string; scopes: string[]; digest: Buffer }[]>`
    select id, workspace_id, scopes, digest
    from api_keys
    where digest = ${digest}
      and revoked_at is null
      and (expires_at is null or expires_at > now())`;
  if (!row || !digestsEqual(row.digest, digest)) return undefined;
  return { keyId: row.id, workspaceId: row.workspace_id, scopes: row.scopes };
}
