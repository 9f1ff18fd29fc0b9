import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from '../support/server.ts';

// Found by Schemathesis: RFC 3339 date-times that PostgreSQL's timestamptz input refuses (offsets
// beyond ±15:59, year 0000, a year past 9999 once converted to UTC) went to SQL as written: 500.
let server: TestServer;
let createdAt: string;
beforeAll(async () => {
  server = await startTestServer();
  const module = await call(server, 'GET', `/modules/${(await createModule(server)).id}`);
  createdAt = module.body.created_at;
});
afterAll(() => server.close());

const total = async (query: string) => {
  const response = await call(server, 'GET', `/modules?${query}`);
  expect(response.status, response.text).toBe(200);
  return response.body.total as number;
};

describe('time bounds in queries', () => {
  it('take any offset RFC 3339 allows, converting it to UTC exactly', async () => {
    const instant = new Date(createdAt);
    // The same instant written with a +17:29 offset: strictly-after excludes it, a millisecond earlier includes it.
    const shifted = (ms: number) => {
      const local = new Date(instant.getTime() + ms + (17 * 60 + 29) * 60_000).toISOString().slice(0, 23);
      return encodeURIComponent(`${local}+17:29`);
    };
    const all = await total('limit=1');
    expect(await total(`created_after=${shifted(-1)}`)).toBeGreaterThanOrEqual(1);
    expect(await total(`created_after=${shifted(0)}`)).toBeLessThan(all);
    expect(await total(`created_before=${shifted(1)}`)).toBe(all - (await total(`created_after=${shifted(0)}`)));
  });

  it('treat bounds outside the years 0001–9999 as open ends', async () => {
    const all = await total('limit=1');
    expect(await total('created_after=0000-01-01T00:00:00Z')).toBe(all);
    expect(await total(`created_before=${encodeURIComponent('9999-12-31T23:59:59-23:59')}`)).toBe(all);
    expect(await total(`updated_after=${encodeURIComponent('9999-12-31T23:59:59-23:59')}`)).toBe(0);
  });

  it('refuse usage ranges SQL cannot count (422), and keys expiring after the year 9999', async () => {
    const keys = await call(server, 'GET', '/api-keys?limit=1');
    const keyId = keys.body.data[0].id;
    const usage = await call(server, 'GET', `/api-keys/${keyId}/usage?since=0000-01-01T00:00:00Z&until=0000-01-02T00:00:00Z`);
    expect(usage.status).toBe(422);
    expect(Object.keys(usage.body.errors)).toEqual(['since']);
    const farOffset = await call(server, 'POST', '/api-keys', {
      body: { name: 'Far', scopes: ['modules:read'], expires_at: '9999-12-31T23:59:59-23:59' },
    });
    expect(farOffset.status).toBe(422);
    expect(Object.keys(farOffset.body.errors)).toEqual(['expires_at']);
    const offset = await call(server, 'POST', '/api-keys', {
      body: { name: 'Offset', scopes: ['modules:read'], expires_at: '2999-01-01T00:00:00.5+17:29' },
    });
    expect(offset.status).toBe(201);
    expect(offset.body.expires_at).toBe('2998-12-31T06:31:00.500Z');
  });
});
