import type { Sql } from '@charter/db';
import { generateApiKey, type KeyMode } from './auth/api-key.ts';
import { newId } from './ids.ts';

export interface NewWorkspace {
  workspaceId: string;
  keyId: string;
  /** The key's plaintext: returned here once and stored nowhere. */
  key: string;
}

/** Creates a workspace and its first API key, holding every scope (`*`), in one transaction. */
export async function createWorkspace(sql: Sql, options: { name: string; keyName?: string; mode?: KeyMode }): Promise<NewWorkspace> {
  const workspaceId = newId('workspace');
  const keyId = newId('apiKey');
  const key = generateApiKey(options.mode ?? 'live');
  await sql.begin(async (tx) => {
    await tx`insert into workspaces (id, name) values (${workspaceId}, ${options.name})`;
    await tx`
      insert into api_keys (id, workspace_id, name, digest, prefix, last4, mode, scopes)
      values (${keyId}, ${workspaceId}, ${options.keyName ?? 'Bootstrap key'}, ${key.digest}, ${key.prefix}, ${key.last4}, ${key.mode}, ${['*']})`;
  });
  return { workspaceId, keyId, key: key.plaintext };
}
