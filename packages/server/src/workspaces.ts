import type { Tier } from '@charter/contracts';
import type { Sql } from '@charter/db';
import type { KeyMode } from './auth/api-key.ts';
import { newId } from './ids.ts';
import { issueKey } from './keys.ts';

export interface NewWorkspace {
  workspaceId: string;
  keyId: string;
  /** The key's plaintext: returned here once and stored nowhere. */
  key: string;
}

/**
 * Creates a workspace and its first API key, holding every scope (`*`), in one transaction.
 * The first key gets a generous tier by default: keys it issues can never exceed its limits.
 */
export async function createWorkspace(
  sql: Sql,
  options: { name: string; keyName?: string; mode?: KeyMode; tier?: Tier },
): Promise<NewWorkspace> {
  const workspaceId = newId('workspace');
  const issued = await sql.begin(async (tx) => {
    await tx`insert into workspaces (id, name) values (${workspaceId}, ${options.name})`;
    return issueKey(tx, workspaceId, {
      name: options.keyName ?? 'Bootstrap key',
      scopes: ['*'],
      mode: options.mode ?? 'live',
      tier: options.tier ?? 'enterprise',
    });
  });
  return { workspaceId, keyId: issued.row.id, key: issued.plaintext };
}
