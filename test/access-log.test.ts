import type { Database } from '@charter/db';
import { type App, createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, openTestDatabase } from './support/server.ts';

let database: Database;
let app: App;
let running: RunningServer;
let server: { url: string; key: string };
let keyId: string;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createApp({ sql: database.sql, fastSql: database.fastSql, logError: () => {}, addressLimitPerMinute: 1_000_000 });
  running = await listen(app, 0);
  const workspace = await createWorkspace(database.sql, { name: 'Logged' });
  server = { url: running.url, key: workspace.key };
  keyId = workspace.keyId;
});
afterAll(async () => {
  await running.close(1000);
  await database.close();
});

describe('the access log', () => {
  it('records every call, including those the edge answers, and lists them newest first', async () => {
    const made = [
      await call(server, 'GET', '/modules', { headers: { 'x-request-id': `log-ok-${Date.now()}` } }),
      await call(server, 'GET', '/nowhere'),
      await call(server, 'POST', '/modules', { body: {} }),
      await call(server, 'GET', '/modules', { key: null }),
    ];
    await app.flush();
    const listed = await call(server, 'GET', '/access-logs?limit=100');
    expect(listed.status).toBe(200);
    const byRequest = new Map(listed.body.data.map((entry: { request_id: string }) => [entry.request_id, entry]));
    const [ok, missing, invalid, anonymous] = made.map((response) => byRequest.get(response.headers.get('x-request-id')!)) as any[];
    expect(ok).toMatchObject({ key_id: keyId, method: 'GET', path: '/api/v1/modules', status: 200, client_address: expect.stringMatching(/127\.0\.0\.1/) });
    expect(ok.latency_ms).toBeGreaterThan(0);
    expect(missing).toMatchObject({ status: 404, path: '/api/v1/nowhere' });
    expect(invalid).toMatchObject({ status: 422, method: 'POST' });
    // Calls without a key belong to no workspace, so they are in no workspace's log; they are
    // counted per minute, address, method and status instead of stored one by one.
    expect(anonymous).toBeUndefined();
    const stored = await database.sql`select 1 from access_logs where request_id = ${made[3]!.headers.get('x-request-id')}`;
    expect(stored).toHaveLength(0);
    const [counted] = await database.sql<{ requests: number }[]>`
      select requests from unauthenticated_requests
      where minute >= date_trunc('minute', now()) - interval '1 minute'
        and client_address like '%127.0.0.1' and method = 'GET' and status = 401`;
    expect(counted?.requests).toBeGreaterThanOrEqual(1);
    const times = listed.body.data.map((entry: { created_at: string }) => entry.created_at);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('filters by key, status, method and time, and rejects bad filters', async () => {
    await call(server, 'GET', '/modules/mod_00000000000000000000000000');
    await app.flush();
    const notFound = await call(server, 'GET', `/access-logs?status=404&method=GET&key_id=${keyId}`);
    expect(notFound.body.data.length).toBeGreaterThan(0);
    expect(notFound.body.data.every((e: { status: number; method: string }) => e.status === 404 && e.method === 'GET')).toBe(true);
    const future = await call(server, 'GET', '/access-logs?since=2999-01-01T00:00:00Z');
    expect(future.body.total).toBe(0);
    const bad = await call(server, 'GET', '/access-logs?status=abc&method=FETCH');
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.errors).sort()).toEqual(['method', 'status']);
  });

  it("never shows another workspace's calls", async () => {
    const other = await createWorkspace(database.sql, { name: 'Other' });
    await call({ url: running.url, key: other.key }, 'GET', '/modules');
    await app.flush();
    const mine = await call(server, 'GET', '/access-logs?limit=100');
    expect(mine.body.data.every((entry: { key_id: string }) => entry.key_id === keyId || entry.key_id === null)).toBe(true);
    expect(mine.body.data.some((entry: { key_id: string }) => entry.key_id === other.keyId)).toBe(false);
  });
});

describe('usage per key', () => {
  it('counts calls and errors per minute, hour and day, with empty buckets', async () => {
    const created = await call(server, 'POST', '/api-keys', { body: { name: 'metered', scopes: ['modules:read'] } });
    const metered = { url: running.url, key: created.body.key };
    for (let i = 0; i < 4; i++) await call(metered, 'GET', '/modules');
    await call(metered, 'GET', '/modules/not-an-id');
    await app.flush();
    for (const granularity of ['minute', 'hour', 'day']) {
      const usage = await call(server, 'GET', `/api-keys/${created.body.id}/usage?granularity=${granularity}`);
      expect(usage.status, usage.text).toBe(200);
      expect(usage.body).toMatchObject({ key_id: created.body.id, granularity, total_requests: 5, total_errors: 1 });
      expect(usage.body.data.length).toBeGreaterThanOrEqual(60);
      const busy = usage.body.data.filter((bucket: { requests: number }) => bucket.requests > 0);
      expect(busy.length).toBeGreaterThanOrEqual(1);
    }
  });

  it('rejects bad ranges and unknown keys', async () => {
    const tooWide = await call(server, 'GET', `/api-keys/${keyId}/usage?granularity=minute&since=2020-01-01T00:00:00Z`);
    expect(tooWide.status).toBe(422);
    const reversed = await call(server, 'GET', `/api-keys/${keyId}/usage?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z`);
    expect(reversed.status).toBe(422);
    const unknown = await call(server, 'GET', '/api-keys/key_00000000000000000000000000/usage');
    expect(unknown.status).toBe(404);
  });
});
