import { API_KEY_PATTERN } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

async function issue(body: Record<string, unknown>, key = server.key) {
  const response = await call(server, 'POST', '/api-keys', { key, body: { name: 'A key', ...body } });
  return response;
}

describe('issuing keys', () => {
  it('shows the secret once, in the published format, and never again', async () => {
    const created = await issue({ name: 'Backend', scopes: ['records:read', 'records:write'], tier: 'starter', mode: 'test' });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^sk_test_[0-9A-Za-z]{38}$/);
    expect(API_KEY_PATTERN.test(created.body.key)).toBe(true);
    expect(created.body).toMatchObject({
      name: 'Backend',
      mode: 'test',
      scopes: ['records:read', 'records:write'],
      tier: 'starter',
      rate_limit_per_minute: 1000,
      burst: 200,
      daily_quota: null,
      prefix: created.body.key.slice(0, 12),
      last4: created.body.key.slice(-4),
      last_used_at: null,
    });
    const fetched = await call(server, 'GET', `/api-keys/${created.body.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.key).toBeUndefined();
    expect(fetched.text).not.toContain(created.body.key);
    const listed = await call(server, 'GET', '/api-keys?limit=100');
    expect(listed.text).not.toContain(created.body.key);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
  });

  it('stores no plaintext anywhere in the database', async () => {
    const secrets: string[] = [];
    for (let i = 0; i < 3; i++) secrets.push((await issue({ scopes: ['modules:read'] })).body.key);
    const rotated = await call(server, 'POST', `/api-keys/${(await issue({ scopes: ['modules:read'] })).body.id}/rotate`, { body: {} });
    secrets.push(rotated.body.key);
    const { sql } = server.database;
    const columns = await sql<{ table_name: string; column_name: string }[]>`
      select table_name, column_name from information_schema.columns
      where table_schema = 'public' and data_type in ('text', 'character varying', 'bytea', 'jsonb', 'json', 'ARRAY')`;
    expect(columns.length).toBeGreaterThan(10);
    for (const { table_name, column_name } of columns) {
      for (const secret of secrets) {
        const [row] = await sql<{ n: number }[]>`
          select count(*)::int as n from ${sql(table_name)}
          where position(${secret} in ${sql(column_name)}::text) > 0
             or position(${Buffer.from(secret).toString('hex')} in ${sql(column_name)}::text) > 0`;
        expect(row?.n, `${table_name}.${column_name}`).toBe(0);
      }
    }
  });

  it('refuses scopes the issuing key does not hold, and limits beyond its own', async () => {
    const limited = await issue({ scopes: ['api-keys:write', 'records:read'], tier: 'starter' });
    const widen = await issue({ scopes: ['records:write'] }, limited.body.key);
    expect(widen.status).toBe(403);
    expect(widen.body).toMatchObject({ error: 'access_denied', required_scopes: ['records:write'] });
    const wildcard = await issue({ scopes: ['*'] }, limited.body.key);
    expect(wildcard.status).toBe(403);
    const records = await issue({ scopes: ['records:*'] }, limited.body.key);
    expect(records.status).toBe(403);
    const bigger = await issue({ scopes: ['records:read'], tier: 'pro' }, limited.body.key);
    expect(bigger.status).toBe(403);
    expect(bigger.body.message).toContain('limits beyond its own');
    const within = await issue({ scopes: ['records:read'], tier: 'free' }, limited.body.key);
    expect(within.status).toBe(201);
    const moduleScoped = await issue({ scopes: ['records:read:mod_01jd8x3k5q9v2m7n4p6r8t0w1y'] }, limited.body.key);
    expect(moduleScoped.status).toBe(422);
  });

  it('refuses rotating a key that holds more than the caller', async () => {
    const limited = await issue({ scopes: ['api-keys:*'], tier: 'starter' });
    const root = (await call(server, 'GET', '/api-keys?sort=created_at&limit=1')).body.data[0];
    expect(root.scopes).toEqual(['*']);
    const attempt = await call(server, 'POST', `/api-keys/${root.id}/rotate`, { key: limited.body.key, body: {} });
    expect(attempt.status).toBe(403);
    expect(attempt.body.required_scopes).toEqual(['*']);
    expect((await call(server, 'GET', '/modules')).status).toBe(200);
  });

  it('rejects bad input with per-field errors', async () => {
    const bad = await issue({ name: '', scopes: ['records:admin'], tier: 'platinum', expires_at: '2001-01-01T00:00:00Z' });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.errors).sort()).toEqual(['name', 'scopes.0', 'tier']);
    const past = await issue({ scopes: ['modules:read'], expires_at: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    expect(past.body.errors).toEqual({ expires_at: ['The expires_at field must be in the future.'] });
  });
});

describe('using keys', () => {
  it('one-module scopes open that module only', async () => {
    const mine = (await createModule(server, [{ name: 'a', type: 'string' }])).id;
    const other = (await createModule(server, [{ name: 'a', type: 'string' }])).id;
    const scoped = await issue({ scopes: [`records:read:${mine}`, `records:write:${mine}`] });
    expect(scoped.status).toBe(201);
    const key = scoped.body.key;
    expect((await call(server, 'POST', `/modules/${mine}/records`, { key, body: { data: { a: 'x' } } })).status).toBe(201);
    expect((await call(server, 'GET', `/modules/${mine}/records`, { key })).status).toBe(200);
    const denied = await call(server, 'GET', `/modules/${other}/records`, { key });
    expect(denied.status).toBe(403);
    expect(denied.body.required_scopes).toEqual(['records:read']);
    expect((await call(server, 'GET', `/modules/${mine}`, { key })).status).toBe(403);
  });

  it('records last_used_at, to the minute', async () => {
    const created = await issue({ scopes: ['modules:read'] });
    expect((await call(server, 'GET', '/modules', { key: created.body.key })).status).toBe(200);
    await expect.poll(async () => (await call(server, 'GET', `/api-keys/${created.body.id}`)).body.last_used_at, { timeout: 60_000 }).not.toBeNull();
  });

  it('expired keys get the same 401 as unknown ones', async () => {
    const created = await issue({ scopes: ['modules:read'], expires_at: new Date(Date.now() + 60_000).toISOString() });
    expect((await call(server, 'GET', '/modules', { key: created.body.key })).status).toBe(200);
    await server.database.sql`update api_keys set expires_at = now() - interval '1 second' where id = ${created.body.id}`;
    const expired = await call(server, 'GET', '/modules', { key: created.body.key });
    expect(expired.status).toBe(401);
  });
});

describe('managing keys', () => {
  it('updates name and limits; null returns a limit to the tier', async () => {
    const created = await issue({ scopes: ['modules:read'], tier: 'starter', rate_limit_per_minute: 10, daily_quota: 500 });
    expect(created.body).toMatchObject({ rate_limit_per_minute: 10, burst: 2, daily_quota: 500 });
    const updated = await call(server, 'PATCH', `/api-keys/${created.body.id}`, {
      body: { name: 'Renamed', rate_limit_per_minute: null, daily_quota: null, burst: 5 },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Renamed', rate_limit_per_minute: 1000, burst: 5, daily_quota: null });
    const scopes = await call(server, 'PATCH', `/api-keys/${created.body.id}`, { body: { scopes: ['*'] } });
    expect(scopes.status).toBe(422);
  });

  it('revokes at once: the next request gets 401 and the key is gone', async () => {
    const created = await issue({ scopes: ['modules:read'] });
    expect((await call(server, 'GET', '/modules', { key: created.body.key })).status).toBe(200);
    expect((await call(server, 'DELETE', `/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await call(server, 'GET', '/modules', { key: created.body.key })).status).toBe(401);
    expect((await call(server, 'GET', `/api-keys/${created.body.id}`)).status).toBe(404);
    expect((await call(server, 'DELETE', `/api-keys/${created.body.id}`)).status).toBe(404);
  });

  it('rotates: both secrets work during the grace period, then only the new one', async () => {
    const created = await issue({ scopes: ['modules:read'] });
    const requested = Date.now();
    const rotated = await call(server, 'POST', `/api-keys/${created.body.id}/rotate`, { body: { grace_period_hours: 1 } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.id).toBe(created.body.id);
    expect(rotated.body.key).not.toBe(created.body.key);
    expect(rotated.body.last4).toBe(rotated.body.key.slice(-4));
    const endsAt = Date.parse(rotated.body.grace_period_ends_at);
    // An hour of grace from the rotation, give or take the database clock's distance from this one.
    expect(Math.abs(endsAt - requested - 3_600_000)).toBeLessThan(60_000);
    expect((await call(server, 'GET', '/modules', { key: created.body.key })).status).toBe(200);
    expect((await call(server, 'GET', '/modules', { key: rotated.body.key })).status).toBe(200);
    // The grace period ends (in the database, rather than an hour later: a timed wait would race a busy machine).
    await server.database.sql`update api_key_secrets set expires_at = now() - interval '1 second' where key_id = ${created.body.id} and expires_at is not null`;
    expect((await call(server, 'GET', '/modules', { key: created.body.key })).status).toBe(401);
    expect((await call(server, 'GET', '/modules', { key: rotated.body.key })).status).toBe(200);
  });

  it('rotates with no grace period: the old secret dies at once', async () => {
    const created = await issue({ scopes: ['modules:read'] });
    const rotated = await call(server, 'POST', `/api-keys/${created.body.id}/rotate`, { body: { grace_period_hours: 0 } });
    expect(rotated.status).toBe(200);
    expect((await call(server, 'GET', '/modules', { key: created.body.key })).status).toBe(401);
    expect((await call(server, 'GET', '/modules', { key: rotated.body.key })).status).toBe(200);
  });
});
