import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from './support/server.ts';
import { awaitFreshMinute } from './support/time.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

async function keyWith(limits: Record<string, unknown>) {
  const created = await call(server, 'POST', '/api-keys', { body: { name: 'limited', scopes: ['modules:*'], tier: 'free', ...limits } });
  expect(created.status).toBe(201);
  return { url: server.url, key: created.body.key as string, id: created.body.id as string };
}

describe('per-key rate limits', () => {
  it('admits the limit, then answers 429 with Retry-After and the documented body', async () => {
    await awaitFreshMinute();
    const client = await keyWith({ rate_limit_per_minute: 5 });
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await call(client, 'GET', '/modules'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(answers.map((a) => a.headers.get('x-ratelimit-remaining'))).toEqual(['4', '3', '2', '1', '0', '0', '0']);
    for (const answer of answers) {
      expect(answer.headers.get('x-ratelimit-limit')).toBe('5');
      expect(answer.headers.get('ratelimit-policy')).toBe('"minute";q=5;w=60');
      expect(answer.headers.get('ratelimit')).toMatch(/^"minute";r=\d+;t=\d+$/);
    }
    const refused = answers[5]!;
    const reset = Number(refused.headers.get('x-ratelimit-reset'));
    expect(reset % 60).toBe(0);
    const retryAfter = Number(refused.headers.get('retry-after'));
    // Never earlier than the window's end, which is when a request would in fact be admitted.
    expect(Date.now() / 1000 + retryAfter).toBeGreaterThanOrEqual(reset - 1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body).toEqual({
      error: 'rate_limit_exceeded',
      message: `Too many requests. Please retry after ${retryAfter} ${retryAfter === 1 ? 'second' : 'seconds'}.`,
      retry_after: retryAfter,
      limit: 5,
      remaining: 0,
      reset_at: new Date(reset * 1000).toISOString(),
      request_id: refused.headers.get('x-request-id'),
    });
    expect(refused.headers.get('ratelimit')).toBe(`"minute";r=0;t=${retryAfter}`);
  });

  it("adds the tier's burst allowance to the per-minute limit", async () => {
    await awaitFreshMinute();
    const client = await keyWith({ tier: 'free', rate_limit_per_minute: 4, burst: 2 });
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(client, 'GET', '/modules')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
  });

  it('counts what the edge answers before the router, with the headers', async () => {
    await awaitFreshMinute();
    const client = await keyWith({ rate_limit_per_minute: 3 });
    const unknown = await call(client, 'GET', '/no-such-route');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-ratelimit-remaining')).toBe('2');
    const malformed = await call(client, 'POST', '/modules', { rawBody: '{', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-ratelimit-remaining')).toBe('1');
    const wrongType = await call(client, 'POST', '/modules', { rawBody: 'x', headers: { 'content-type': 'text/plain' } });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await call(client, 'GET', '/modules')).status).toBe(429);
  });

  it('enforces a daily quota as a second named policy, and a refused minute does not use it up', async () => {
    await awaitFreshMinute();
    const client = await keyWith({ rate_limit_per_minute: 2, daily_quota: 3 });
    const first = await call(client, 'GET', '/modules');
    expect(first.headers.get('ratelimit-policy')).toBe('"minute";q=2;w=60, "day";q=3;w=86400');
    expect(first.headers.get('ratelimit')).toMatch(/^"minute";r=1;t=\d+, "day";r=2;t=\d+$/);
    await call(client, 'GET', '/modules');
    const minuteRefused = await call(client, 'GET', '/modules');
    expect(minuteRefused.status).toBe(429);
    expect(minuteRefused.body.limit).toBe(2);
    const [day] = await server.database.sql<{ count: number }[]>`
      select count from rate_limit_counters where subject = ${`key:${client.id}`} and window_kind = 'day'`;
    expect(day?.count).toBe(2);

    // A fresh minute: one more request fits the quota, the next exceeds it.
    await server.database.sql`delete from rate_limit_counters where subject = ${`key:${client.id}`} and window_kind = 'minute'`;
    expect((await call(client, 'GET', '/modules')).status).toBe(200);
    const quotaRefused = await call(client, 'GET', '/modules');
    expect(quotaRefused.status).toBe(429);
    expect(quotaRefused.body.message).toMatch(/^Daily quota exceeded\. Please retry after \d+ seconds\.$/);
    expect(quotaRefused.body.limit).toBe(3);
    expect(quotaRefused.headers.get('x-ratelimit-limit')).toBe('3');
    expect(Number(quotaRefused.headers.get('x-ratelimit-reset')) % 86_400).toBe(0);
  });
});

describe('per-address limits without a key', () => {
  it('limit public routes and key-less requests by client address', async () => {
    await awaitFreshMinute();
    const limited = await startTestServer({ addressLimitPerMinute: 3 });
    try {
      // Other tests share 127.0.0.1 in this database: start from a clean count.
      await limited.database.sql`delete from rate_limit_counters where subject like 'ip:%'`;
      // Public routes are counted in the process's memory (they must answer without the database)…
      const health = await fetch(`${limited.url}/api/v1/health`);
      expect(health.status).toBe(200);
      expect(health.headers.get('ratelimit-policy')).toBe('"minute";q=3;w=60');
      expect((await fetch(`${limited.url}/api/v1/openapi.json`)).status).toBe(200);
      expect((await fetch(`${limited.url}/docs`)).status).toBe(200);
      const refused = await fetch(`${limited.url}/api/v1/openapi.json`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      // …and key-less API calls in the database, exactly across processes.
      expect((await call(limited, 'GET', '/modules', { key: null })).status).toBe(401);
      expect((await call(limited, 'GET', '/modules', { key: 'sk_live_wrong' })).status).toBe(401);
      expect((await call(limited, 'GET', '/modules', { key: null })).status).toBe(401);
      const refusedApi = await call(limited, 'GET', '/modules', { key: null });
      expect(refusedApi.status).toBe(429);
      expect(refusedApi.headers.get('retry-after')).toMatch(/^\d+$/);
      // A valid key is counted against the key, not the address.
      expect((await call(limited, 'GET', '/modules')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
