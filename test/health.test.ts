import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { connect, type Database } from '@charter/db';
import { createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openTestDatabase } from './support/server.ts';

/**
 * A loopback TCP proxy in front of the test database that can make it unreachable on demand:
 * `refuse` stops listening (connections are refused, as with a stopped server), `blackhole`
 * accepts and never answers (as a dead host or a partitioned network does), `up` forwards again.
 * Either way, the connections already open are cut.
 */
function databaseProxy(target: URL) {
  let mode: 'up' | 'refuse' | 'blackhole' = 'up';
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (mode === 'blackhole') return;
    const upstream = tcpConnect(Number(target.port), target.hostname);
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  let port = 0;
  const listening = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    async start(): Promise<string> {
      await listening();
      port = (server.address() as { port: number }).port;
      const url = new URL(target);
      url.port = String(port);
      url.hostname = '127.0.0.1';
      return url.toString();
    },
    async set(next: typeof mode) {
      const previous = mode;
      mode = next;
      if (next !== 'up') for (const socket of open) socket.destroy();
      if (next === 'refuse') await new Promise<void>((resolve) => server.close(() => resolve()));
      if (previous === 'refuse' && next !== 'refuse') await listening();
    },
    async stop() {
      for (const socket of open) socket.destroy();
      if (mode !== 'refuse') await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const HEALTH_LIMIT_MS = 2_000;
// What a loaded machine may add to a 2 s promise before the answer reaches the test.
const SCHEDULING_SLACK_MS = 2_500;

let proxy: ReturnType<typeof databaseProxy>;
let direct: Database;
let proxied: Database;
let running: RunningServer;
let key: string;

beforeAll(async () => {
  direct = await openTestDatabase();
  key = (await createWorkspace(direct.sql, { name: 'health' })).key;
  proxy = databaseProxy(new URL(inject('databaseUrl')));
  const url = await proxy.start();
  proxied = await connect({ databaseUrl: url, max: 1, fastPool: false });
  running = await listen(createApp({ sql: proxied.sql, logError: () => {}, addressLimitPerMinute: 1_000_000 }), 0);
});
afterAll(async () => {
  await proxy.set('up');
  await running.close(1_000);
  await proxied.close().catch(() => {});
  await proxy.stop();
  await direct.close();
});

async function timed(path: string, init: RequestInit = {}) {
  const started = performance.now();
  const response = await fetch(`${running.url}${path}`, init);
  const body = await response.text();
  return { status: response.status, body, headers: response.headers, ms: performance.now() - started };
}

/** Polls until `check` holds, up to a deadline: a condition, not a duration. */
async function eventually(check: () => Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('/health tells the truth, and /docs never needs the database', () => {
  it('is 200 while the database answers', async () => {
    const health = await timed('/api/v1/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', database: 'ok' });
  });

  for (const mode of ['refuse', 'blackhole'] as const) {
    it(`answers 503 database "unreachable" within 2 s while the database is down (${mode}), and recovers by itself`, async () => {
      await proxy.set(mode);
      for (let attempt = 0; attempt < 3; attempt++) {
        const health = await timed("/api/v1/health");
        expect(health.status, health.body).toBe(503);
        const body = JSON.parse(health.body);
        expect(body).toMatchObject({ error: 'service_unavailable', database: 'unreachable' });
        expect(body.request_id).toBe(health.headers.get('x-request-id'));
        expect(health.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(health.ms).toBeLessThan(HEALTH_LIMIT_MS + SCHEDULING_SLACK_MS);
      }
      // The reference and the documents are served from memory: no database, no rate-limit statement.
      for (const path of ['/docs', '/docs/swagger-ui.css', '/api/v1/openapi.json', '/api/v1/openapi-3.0.json']) {
        const page = await timed(path);
        expect(page.status, path).toBe(200);
      }
      if (mode === 'refuse') {
        // An API call cannot be admitted without the database: a 503 with Retry-After, never a 500.
        const api = await timed('/api/v1/modules', { headers: { authorization: `Bearer ${key}` } });
        expect(api.status, api.body).toBe(503);
        expect(JSON.parse(api.body).error).toBe('service_unavailable');
        expect(api.headers.get('retry-after')).toMatch(/^\d+$/);
      }
      await proxy.set('up');
      await eventually(async () => (await timed('/api/v1/health')).status === 200);
      await eventually(async () => (await timed('/api/v1/modules', { headers: { authorization: `Bearer ${key}` } })).status === 200);
    });
  }
});
