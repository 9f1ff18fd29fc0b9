/**
 * Charter's own server, built with `createApp` and `listen` as `src/main.ts` does, with one workspace, one module and
 * a few dozen records, so that the measured request walks the whole REST path: routing, API-key
 * lookup, query parsing, trpc-to-openapi, the list query and the response rewrite.
 *
 * DATABASE_URL selects a PostgreSQL server; unset, an embedded PGlite in memory is used. The data
 * is created over HTTP (not SQL) so that it is whatever the API itself makes of it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, migrate } from '@charter/db';
import {
  createApp,
  createWorkspace,
  decide,
  type Gatekeeper,
  listen,
  noRequestLog,
  type Principal,
  policyState,
} from '@charter/server';
import { announceReady, stopWhenStdinEnds } from '../lib/protocol.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 50);
const PAGE_SIZE = 10;
/** Keys the "many keys" load spreads over (the first is also the hot key). */
const KEYS = 50;

const database = await connect({ databaseUrl: process.env.DATABASE_URL || undefined });
await migrate(database.sql);
const { workspaceId, keyId, key } = await createWorkspace(database.sql, { name: 'Bench' });

/**
 * BENCH_RULES=off serves the same route with the request rules switched off: no key lookup, no
 * rate-limit counter, no access log (the principal is fixed; scopes are still checked in memory).
 * The difference to the default is what those rules cost per request.
 */
const rulesOff = process.env.BENCH_RULES === 'off';
const fixedPrincipal: Principal = {
  keyId,
  workspaceId,
  scopes: ['*'],
  mode: 'live',
  perMinute: Number.MAX_SAFE_INTEGER,
  burst: 0,
  dailyQuota: null,
  expiresAt: null,
  secretInGrace: false,
  lastUsedAt: new Date(),
};
const openDoor: Gatekeeper = {
  admitKey: async () => ({
    principal: fixedPrincipal,
    decision: decide([policyState('minute', Number.MAX_SAFE_INTEGER, 0, new Date(), 60, new Date())]),
  }),
  admitAddress: async () => decide([policyState('minute', Number.MAX_SAFE_INTEGER, 0, new Date(), 60, new Date())]),
};
const app = createApp({
  sql: database.sql,
  fastSql: database.fastSql,
  ...(rulesOff ? { gatekeeper: openDoor, requestLog: noRequestLog } : {}),
});
const running = await listen(app, 0, '127.0.0.1');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await running.close(1_000);
  // Requests whose client already hung up are still running their queries: closing the pool under
  // them would only fill the log with CONNECTION_ENDED errors.
  await sleep(500);
  // A server database outlives the run: leave it as it was found (everything cascades from the workspace).
  if (database.kind === 'postgres') await database.sql`delete from workspaces where id = ${workspaceId}`.catch(() => {});
  await database.close();
  process.exit(0);
}
stopWhenStdinEnds(() => void stop());
process.on('SIGTERM', () => void stop());

const headers = { authorization: `Bearer ${key}` };

async function post(path: string, body: unknown): Promise<{ id: string }> {
  const response = await fetch(`${running.url}/api/v1${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as { id: string };
}

const module = await post('/modules', { name: 'Bench', fields: [{ name: 'title', type: 'string' }] });
// Sequential, so that creation order (the list's default sort) is the loop's order.
for (let index = 1; index <= RECORDS; index++) {
  await post(`/modules/${module.id}/records`, { data: { title: `Record ${String(index).padStart(3, '0')}` } });
}

// Writes go to a module of their own, so that the list measured stays the same size all run long.
const writes = await post('/modules', { name: 'Bench writes', fields: [{ name: 'title', type: 'string' }] });
// Further keys of the same workspace, issued through the API like any integrator's. With the rules
// off, every request runs as the one fixed principal, and only the list with one key is measured.
const keys = [key];
while (!rulesOff && keys.length < KEYS) {
  const issued = (await post('/api-keys', { name: `Bench ${keys.length}`, scopes: ['*'], tier: 'enterprise' })) as { id: string; key?: string };
  if (!issued.key) throw new Error('POST /api-keys answered without the secret');
  keys.push(issued.key);
}

const [server] = await database.sql<{ server_version: string }[]>`show server_version`;
const version = server?.server_version.split(' ')[0] ?? '?';
announceReady({
  url: running.url,
  request: { path: `/api/v1/modules/${module.id}/records?limit=${PAGE_SIZE}`, headers },
  workload: {
    listPath: `/api/v1/modules/${module.id}/records?limit=${PAGE_SIZE}`,
    createPath: `/api/v1/modules/${writes.id}/records`,
    createBody: JSON.stringify({ data: { title: 'Benchmark record' } }),
    keys,
  },
  facts: {
    // PGlite runs inside the server's process, so its work counts against the server's core.
    database:
      database.kind === 'pglite'
        ? `PGlite (PostgreSQL ${version} in WebAssembly, in memory, inside the server process, 1 connection)`
        : `PostgreSQL ${version} server at ${database.location} (its own processes, not pinned)`,
  },
});
