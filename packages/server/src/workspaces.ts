import type { Tier } from '@charter/contracts';
import type { Sql, TransactionSql } from '@charter/db';
import type { KeyMode } from './auth/api-key.ts';
import { newId } from './ids.ts';
import { issueKey } from './keys.ts';

export interface NewWorkspace {
  workspaceId: string;
  keyId: string;
  /** The key's plaintext: returned here once and stored nowhere. */
  key: string;
}

type WorkspaceOptions = { name: string; keyName?: string; mode?: KeyMode; tier?: Tier };

/**
 * Creates a workspace and its first API key, holding every scope (`*`), in one transaction.
 * The first key gets a generous tier by default: keys it issues can never exceed its limits.
 */
export async function createWorkspace(sql: Sql, options: WorkspaceOptions): Promise<NewWorkspace> {
  return sql.begin((tx) => insertWorkspace(tx, options));
}

// Any constant: the same in every process that may start at once on one database.
const BOOTSTRAP_LOCK_KEY = 727_002;

/**
 * On a database with no workspace yet, creates the first one and its key (so that the first start
 * of the API is enough to make a call); otherwise does nothing and returns undefined. Processes
 * starting together create it once: they take turns under an advisory lock.
 */
export async function bootstrapWorkspace(sql: Sql, options: WorkspaceOptions): Promise<NewWorkspace | undefined> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`;
    const [existing] = await tx`select 1 from workspaces limit 1`;
    return existing ? undefined : insertWorkspace(tx, options);
  });
}

async function insertWorkspace(tx: TransactionSql, options: WorkspaceOptions): Promise<NewWorkspace> {
  const workspaceId = newId('workspace');
  await tx`insert into workspaces (id, name) values (${workspaceId}, ${options.name})`;
  const issued = await issueKey(tx, workspaceId, {
    name: options.keyName ?? 'Bootstrap key',
    scopes: ['*'],
    mode: options.mode ?? 'live',
    tier: options.tier ?? 'enterprise',
  });
  return { workspaceId, keyId: issued.row.id, key: issued.plaintext };
}
