import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppOptions, createApp, listen, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApiScript } from './support/process.ts';
import { call, startTestServer, type TestServer } from './support/server.ts';
import { inOneWindow } from './support/time.ts';

const ALLOWED = 'http://app.example.test:8080';
const OTHER = 'http://evil.example.test';
const EXPOSED = [
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'X-Request-ID',
  'Idempotent-Replayed',
  'Link',
];

let server: TestServer;
let plain: RunningServer & { key: string };

/** Another server on the same database (the embedded one takes one connection per file). */
async function sibling(options: Omit<AppOptions, 'sql'>): Promise<RunningServer & { key: string }> {
  const app = createApp({ sql: server.database.sql, logError: () => {}, addressLimitPerMinute: 1_000_000, ...options });
  return { ...(await listen(app, 0)), key: server.key };
}

beforeAll(async () => {
  server = await startTestServer({ corsOrigins: [ALLOWED, 'https://second.example.test'] });
  plain = await sibling({});
});
afterAll(async () => {
  await plain?.close(1_000);
  await server?.close();
});

function preflight(target: { url: string }, path: string, origin: string, extra: Record<string, string> = {}) {
  return fetch(`${target.url}/api/v1${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,idempotency-key,x-request-id',
      ...extra,
    },
  });
}

const commaList = (value: string | null) => (value ?? '').split(',').map((item) => item.trim().toLowerCase());

describe('CORS for an allowed origin', () => {
  it('answers a preflight 204 with the methods, request headers and max age, without credentials', async () => {
    const response = await preflight(server, '/modules', ALLOWED);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(commaList(response.headers.get('access-control-allow-methods'))).toEqual(['get', 'post', 'patch', 'delete']);
    expect(commaList(response.headers.get('access-control-allow-headers'))).toEqual([
      'authorization',
      'x-api-key',
      'content-type',
      'idempotency-key',
      'x-request-id',
      'trpc-accept',
      'mcp-protocol-version',
    ]);
    expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(response.headers.get('vary')).toBe('Origin');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    // Any path: the preflight asks about the origin and the headers, the real request finds the route.
    expect((await preflight(server, '/modules/mod_01jd8x3k5q9v2m7n4p6r8t0w1y/records', 'https://second.example.test')).status).toBe(204);
  });

  it('a preflight is limited per client address and never counted against the key it may carry', async () => {
    // The key's count moves by the two GETs, not by the preflight between them that carries the key.
    const [before, answered, after] = await inOneWindow(async () => [
      await call(server, 'GET', '/modules'),
      await preflight(server, '/modules', ALLOWED, { authorization: `Bearer ${server.key}` }),
      await call(server, 'GET', '/modules'),
    ]);
    if (!before || !answered || !after) throw new Error('three answers expected');
    expect(answered.status).toBe(204);
    // Counted against the address's limit (this server's, a million a minute), not the key's.
    expect(answered.headers.get('x-ratelimit-limit')).toBe('1000000');
    expect(Number(after.headers.get('x-ratelimit-remaining'))).toBe(Number(before.headers.get('x-ratelimit-remaining')) - 1);

    const strict = await sibling({ corsOrigins: [ALLOWED], addressLimitPerMinute: 2 });
    try {
      // Other files share the address counter in the database: at most three preflights reach the limit of two.
      let refused: Response | undefined;
      for (let attempt = 0; attempt < 3 && !refused; attempt++) {
        const response = await preflight(strict, '/modules', ALLOWED);
        if (response.status === 429) refused = response;
        else expect(response.status).toBe(204);
      }
      if (!refused) throw new Error('three preflights against a limit of two were all answered');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect((await refused.json()).error).toBe('rate_limit_exceeded');
    } finally {
      await strict.close(1_000);
    }
  });

  it('every response carries the origin and the exposed headers: successes, 401, 404, 422 and 429', async () => {
    const headers = { origin: ALLOWED };
    const ok = await call(server, 'GET', '/modules', { headers });
    const unauthorized = await call(server, 'GET', '/modules', { headers, key: null });
    const missing = await call(server, 'GET', '/nowhere', { headers });
    const invalid = await call(server, 'POST', '/modules', { headers, body: {} });
    const limited = await call(server, 'POST', '/api-keys', { body: { name: 'one a minute', scopes: ['modules:read'], rate_limit_per_minute: 1, burst: 0 } });
    expect(limited.status, limited.text).toBe(201);
    await call(server, 'GET', '/modules', { key: limited.body.key });
    const throttled = await call(server, 'GET', '/modules', { headers, key: limited.body.key });
    expect([ok.status, unauthorized.status, missing.status, invalid.status, throttled.status]).toEqual([200, 401, 404, 422, 429]);
    for (const response of [ok, unauthorized, missing, invalid, throttled]) {
      expect(response.headers.get('access-control-allow-origin'), `${response.status}`).toBe(ALLOWED);
      expect(commaList(response.headers.get('access-control-expose-headers'))).toEqual(expect.arrayContaining(EXPOSED.map((name) => name.toLowerCase())));
      expect(response.headers.get('vary')).toBe('Origin');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
    expect(throttled.headers.get('retry-after')).not.toBeNull();
  });
});

describe('CORS for any other origin', () => {
  it('sends no CORS header, only Vary: Origin; its preflight is not answered', async () => {
    const response = await call(server, 'GET', '/modules', { headers: { origin: OTHER } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-expose-headers')).toBeNull();
    expect(response.headers.get('vary')).toBe('Origin');
    // Near misses are other origins too.
    for (const origin of [OTHER, 'http://app.example.test', 'https://app.example.test:8080', `${ALLOWED}/`, 'null']) {
      const refused = await preflight(server, '/modules', origin);
      expect(refused.status, origin).toBe(405);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      expect(refused.headers.get('access-control-allow-methods')).toBeNull();
    }
  });

  it('without the setting, no response carries any CORS header, whatever the origin', async () => {
    const response = await call(plain, 'GET', '/modules', { headers: { origin: ALLOWED } });
    const refused = await preflight(plain, '/modules', ALLOWED);
    expect(refused.status).toBe(405);
    for (const answer of [response, refused]) {
      expect([...answer.headers.keys()].filter((name) => name.startsWith('access-control-') || name === 'vary')).toEqual([]);
    }
  });
});

describe('the CORS_ORIGINS setting', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'charter-cors-'));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it('stops the start with a message naming it when an entry is not an exact origin', async () => {
    const dataDir = join(folder, 'data');
    const result = await runApiScript('src/main.ts', [], { CORS_ORIGINS: 'https://ok.example.com,https://app.example.com/', PORT: '0', CHARTER_DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid settings:');
    expect(result.stderr).toContain('CORS_ORIGINS="https://ok.example.com,https://app.example.com/": "https://app.example.com/" is not an exact origin');
  });
});
