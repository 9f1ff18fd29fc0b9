import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, startTestServer, type TestServer } from './support/server.ts';
import { inOneWindow } from './support/time.ts';

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
    const answers = await inOneWindow(async () => {
      const client = await keyWith({ rate_limit_per_minute: 5 });
      const made: ApiResponse[] = [];
      for (let i = 0; i < 7; i++) made.push(await call(client, 'GET', '/modules'));
      return made;
    });
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
    const answers = await inOneWindow(async () => {
      const client = await keyWith({ tier: 'free', rate_limit_per_minute: 4, burst: 2 });
      const made: ApiResponse[] = [];
      for (let i = 0; i < 7; i++) made.push(await call(client, 'GET', '/modules'));
      return made;
    });
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200, 429]);
  });

  it('counts what the edge answers before the router, with the headers', async () => {
    const [unknown, malformed, wrongType, refused] = await inOneWindow(async () => {
      const client = await keyWith({ rate_limit_per_minute: 3 });
      return [
        await call(client, 'GET', '/no-such-route'),
        await call(client, 'POST', '/modules', { rawBody: '{', headers: { 'content-type': 'application/json' } }),
        await call(client, 'POST', '/modules', { rawBody: 'x', headers: { 'content-type': 'text/plain' } }),
        await call(client, 'GET', '/modules'),
      ];
    });
    expect(unknown?.status).toBe(404);
    expect(unknown?.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(malformed?.status).toBe(400);
    expect(malformed?.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(wrongType?.status).toBe(415);
    expect(wrongType?.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(refused?.status).toBe(429);
  });

  it('enforces a daily quota as a second named policy, and a refused minute does not use it up', async () => {
    let client = { url: '', key: '', id: '' };
    const [first, , minuteRefused] = await inOneWindow(async () => {
      client = await keyWith({ rate_limit_per_minute: 2, daily_quota: 3 });
      return [await call(client, 'GET', '/modules'), await call(client, 'GET', '/modules'), await call(client, 'GET', '/modules')];
    });
    expect(first?.headers.get('ratelimit-policy')).toBe('"minute";q=2;w=60, "day";q=3;w=86400');
    expect(first?.headers.get('ratelimit')).toMatch(/^"minute";r=1;t=\d+, "day";r=2;t=\d+$/);
    expect(minuteRefused?.status).toBe(429);
    expect(minuteRefused?.body.limit).toBe(2);
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

/**
 * One request from 127.0.0.2: an address of this test's own. Other test files call from 127.0.0.1
 * without a key at the same time (in parallel on a PostgreSQL server), and would share its count.
 */
function fromOwnAddress(url: string, path: string, key?: string): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const headers = key ? { authorization: `Bearer ${key}` } : {};
    const req = request(`${url}/api/v1${path}`, { localAddress: '127.0.0.2', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: text, text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('per-address limits without a key', () => {
  it('limit public routes and key-less requests by client address', async () => {
    let limited: TestServer | undefined;
    try {
      // Public routes are counted in the process's memory (they must answer without the database);
      // key-less API calls in the database, exactly across processes. A fresh server per attempt,
      // so that a retry starts from clean counts in memory too.
      const [health, docs, document, refused, noKey, wrongKey, third, refusedApi] = await inOneWindow(async () => {
        await limited?.close();
        limited = await startTestServer({ addressLimitPerMinute: 3 });
        await limited.database.sql`delete from rate_limit_counters where subject like 'ip:%127.0.0.2'`;
        const url = limited.url;
        return [
          await fromOwnAddress(url, '/health'),
          await fromOwnAddress(url, '/openapi-3.0.json'),
          await fromOwnAddress(url, '/openapi.json'),
          await fromOwnAddress(url, '/openapi.json'),
          await fromOwnAddress(url, '/modules'),
          await fromOwnAddress(url, '/modules', 'sk_live_wrong'),
          await fromOwnAddress(url, '/modules'),
          await fromOwnAddress(url, '/modules'),
        ];
      });
      expect(health?.status).toBe(200);
      expect(health?.headers.get('ratelimit-policy')).toBe('"minute";q=3;w=60');
      expect(docs?.status).toBe(200);
      expect(document?.status).toBe(200);
      expect(refused?.status).toBe(429);
      expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(noKey?.status).toBe(401);
      expect(wrongKey?.status).toBe(401);
      expect(third?.status).toBe(401);
      expect(refusedApi?.status).toBe(429);
      expect(refusedApi?.headers.get('retry-after')).toMatch(/^\d+$/);
      // A valid key is counted against the key, not the address.
      const server = limited as TestServer;
      expect((await fromOwnAddress(server.url, '/modules', server.key)).status).toBe(200);
    } finally {
      await limited?.close();
    }
  });
});
