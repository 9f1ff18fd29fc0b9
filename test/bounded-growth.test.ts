import { randomBytes, randomInt } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { Database } from '@charter/db';
import { type App, createApp, createWorkspace, listen, MAX_LOGGED_PATH, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openTestDatabase } from './support/server.ts';

// The hardening issue's case: 2,000 requests without a key, each with a 45 KB random path, added
// 127.7 MB to access_logs (63.9 KB a request). Now they are counted, not stored one by one.
const REQUESTS = 2_000;
const PATH_BYTES = 45_000;
// What the rows those requests leave behind may take, all tables together. Expected: one counter
// row per window and one count row per minute and status (a few hundred bytes each, the sample
// path included), so a few KB; the run may straddle a minute boundary, doubling it.
const MAX_ROW_BYTES = 16 * 1024;
// On PGlite the test files take turns, so relation sizes measure this file alone. Dead row
// versions from the batched upserts and page granularity (8 KB) make them larger than the rows.
const MAX_RELATION_GROWTH = 512 * 1024;

let database: Database;
let app: App;
let running: RunningServer;
let workspace: { key: string; workspaceId: string };
// Linux routes all of 127.0.0.0/8 to loopback: a client address of this run's own keeps its
// counts and counters apart from every other test's.
const clientAddress = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  database = await openTestDatabase();
  // The production default, so that most of the 2,000 are refused with 429 as in the issue.
  app = createApp({ sql: database.sql, fastSql: database.fastSql, logError: () => {}, addressLimitPerMinute: 300 });
  running = await listen(app, 0);
  workspace = await createWorkspace(database.sql, { name: 'Bounded growth' });
});
afterAll(async () => {
  agent.destroy();
  await running.close(1000);
  await database.close();
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${running.url}${path}`, { agent, localAddress: clientAddress, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const randomPath = () => `/api/v1/${randomBytes(PATH_BYTES / 2).toString('hex')}`;

async function relationBytes(): Promise<number> {
  const [row] = await database.sql<{ bytes: string }[]>`
    select pg_total_relation_size('access_logs') + pg_total_relation_size('unauthenticated_requests')
         + pg_total_relation_size('rate_limit_counters') as bytes`;
  return Number(row!.bytes);
}

describe('requests without a valid key', () => {
  it(`${REQUESTS} of them with ${PATH_BYTES / 1000} KB random paths add a few KB, not ${REQUESTS} rows`, async () => {
    const { sql } = database;
    const before = await relationBytes();
    const statuses = new Map<number, number>();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (sent < REQUESTS) {
          sent++;
          const { status } = await get(randomPath());
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    await app.flush();
    const growth = (await relationBytes()) - before;

    const logged = await sql`select 1 from access_logs where client_address = ${clientAddress}`;
    const counts = await sql<{ status: number; requests: number; bytes: number; sample_path: string }[]>`
      select status, requests, pg_column_size(u.*) as bytes, sample_path
      from unauthenticated_requests u where client_address = ${clientAddress}`;
    const [counters] = await sql<{ rows: number; bytes: number }[]>`
      select count(*)::int as rows, coalesce(sum(pg_column_size(c.*)), 0)::int as bytes
      from rate_limit_counters c where subject = ${`ip:${clientAddress}`}`;
    const rowBytes = counts.reduce((sum, row) => sum + row.bytes, 0) + counters!.bytes;
    console.log(
      `${REQUESTS} unauthenticated requests with ${PATH_BYTES}-byte paths from ${clientAddress} (${inject('databaseKind')}): ` +
        `statuses ${JSON.stringify(Object.fromEntries(statuses))}; access_logs rows: ${logged.length}; ` +
        `unauthenticated_requests rows: ${counts.length}, counter rows: ${counters!.rows}, their bytes: ${rowBytes}; ` +
        `growth of access_logs + unauthenticated_requests + rate_limit_counters: ${growth} bytes`,
    );

    expect(statuses.get(429)).toBeGreaterThan(0);
    expect(logged).toHaveLength(0);
    // Every request is counted, under its status.
    expect(counts.reduce((sum, row) => sum + row.requests, 0)).toBe(REQUESTS);
    for (const [status, n] of statuses) {
      expect(counts.filter((row) => row.status === status).reduce((sum, row) => sum + row.requests, 0)).toBe(n);
    }
    for (const row of counts) expect(row.sample_path.length).toBeLessThanOrEqual(MAX_LOGGED_PATH);
    expect(rowBytes).toBeLessThan(MAX_ROW_BYTES);
    if (inject('databaseKind') === 'pglite') expect(growth).toBeLessThan(MAX_RELATION_GROWTH);
  });
});

describe('an authenticated request with a long path', () => {
  it(`keeps its row, with at most ${MAX_LOGGED_PATH} characters of the path, marked as cut`, async () => {
    const path = `/api/v1/modules/${randomBytes(PATH_BYTES / 2).toString('hex')}`;
    const { status, requestId } = await get(path, { authorization: `Bearer ${workspace.key}` });
    expect(status).toBeGreaterThanOrEqual(400);
    await app.flush();
    const [row] = await database.sql<{ path: string; workspace_id: string }[]>`
      select path, workspace_id from access_logs where request_id = ${requestId}`;
    expect(row?.workspace_id).toBe(workspace.workspaceId);
    expect(row!.path.length).toBeLessThanOrEqual(MAX_LOGGED_PATH);
    expect(row!.path.endsWith('…')).toBe(true);
    expect(path.startsWith(row!.path.slice(0, -1))).toBe(true);
  });
});
