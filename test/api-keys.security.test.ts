import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let rootId: string;
beforeAll(async () => {
  server = await startTestServer();
  const keys = await call(server, 'GET', '/api-keys?sort=created_at&limit=1');
  rootId = keys.body.data[0].id;
  expect(keys.body.data[0].scopes).toEqual(['*']);
});
afterAll(() => server.close());

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

/** Issues a key with the root key (or `key`), failing the test unless it is created. */
async function issue(body: Record<string, unknown>, key = server.key): Promise<{ id: string; key: string; expires_at: string | null }> {
  const response = await call(server, 'POST', '/api-keys', { key, body: { name: 'A key', ...body } });
  if (response.status !== 201) throw new Error(`issue: ${response.status} ${response.text}`);
  return response.body;
}

function expectDenied(response: ApiResponse, reason: string | RegExp): void {
  expect(response.status, response.text).toBe(403);
  expect(response.body.error).toBe('access_denied');
  expect(response.body.message).toMatch(reason);
  expect(response.body.request_id).toMatch(/^req_/);
}

async function keyState(id: string) {
  const response = await call(server, 'GET', `/api-keys/${id}`);
  expect(response.status).toBe(200);
  return response.body;
}

describe('a key manages only keys within its own rights', () => {
  it('an api-keys:write key cannot throttle, shorten or unexpire a * key', async () => {
    const writer = await issue({ scopes: ['api-keys:write'] });
    const before = await keyState(rootId);
    const throttle = await call(server, 'PATCH', `/api-keys/${rootId}`, { key: writer.key, body: { rate_limit_per_minute: 1 } });
    expectDenied(throttle, /scopes it does not hold: \*/);
    expect(throttle.body.required_scopes).toEqual(['*']);
    expectDenied(await call(server, 'PATCH', `/api-keys/${rootId}`, { key: writer.key, body: { expires_at: new Date(Date.now() + 3000).toISOString() } }), /\*/);
    const expiring = await issue({ scopes: ['*'], expires_at: inMinutes(60) });
    expectDenied(await call(server, 'PATCH', `/api-keys/${expiring.id}`, { key: writer.key, body: { expires_at: null } }), /\*/);
    expect(await keyState(rootId)).toEqual(before);
    expect((await keyState(expiring.id)).expires_at).toBe(expiring.expires_at);
    expect((await call(server, 'GET', '/modules', { key: expiring.key })).status).toBe(200);
  });

  it('an api-keys:delete key cannot revoke a * key', async () => {
    const deleter = await issue({ scopes: ['api-keys:delete'] });
    const target = await issue({ scopes: ['*'] });
    expectDenied(await call(server, 'DELETE', `/api-keys/${target.id}`, { key: deleter.key }), /scopes it does not hold: \*/);
    expectDenied(await call(server, 'DELETE', `/api-keys/${rootId}`, { key: deleter.key }), /\*/);
    expect((await call(server, 'GET', '/modules', { key: target.key })).status).toBe(200);
    expect((await call(server, 'GET', '/modules')).status).toBe(200);
  });

  it('cannot patch a key of a module scope it lacks', async () => {
    const module = await createModule(server);
    const target = await issue({ scopes: [`records:write:${module.id}`] });
    const caller = await issue({ scopes: ['api-keys:write', 'records:read'] });
    const renamed = await call(server, 'PATCH', `/api-keys/${target.id}`, { key: caller.key, body: { name: 'Hijacked' } });
    expectDenied(renamed, /manage a key holding scopes it does not hold/);
    expect(renamed.body.required_scopes).toEqual([`records:write:${module.id}`]);
    expect((await keyState(target.id)).name).toBe('A key');
  });

  it('cannot rotate a broader key: no new secret is issued and the old one keeps working', async () => {
    const caller = await issue({ scopes: ['api-keys:write', 'records:read'], tier: 'starter', expires_at: inMinutes(60) });
    const module = await createModule(server);
    const wider = await issue({ scopes: ['records:*'] });
    const faster = await issue({ scopes: ['records:read'], tier: 'pro', expires_at: inMinutes(30) });
    const longer = await issue({ scopes: ['records:read'], tier: 'free' });
    for (const [target, reason] of [[wider, /records:\*/], [faster, /rate_limit_per_minute 5000 exceeds/], [longer, /expires_at must be set/]] as const) {
      const rotated = await call(server, 'POST', `/api-keys/${target.id}/rotate`, { key: caller.key, body: { grace_period_hours: 0 } });
      expectDenied(rotated, reason);
      expect(rotated.text).not.toMatch(/sk_(live|test)_/);
      expect((await call(server, 'GET', `/modules/${module.id}/records`, { key: target.key })).status).toBe(200);
    }
  });

  it('cannot revoke or patch a key with a higher daily quota, nor patch one beyond its own', async () => {
    const caller = await issue({ scopes: ['api-keys:*', 'modules:read'], daily_quota: 100 });
    const bigger = await issue({ scopes: ['modules:read'], daily_quota: 1000 });
    const unlimited = await issue({ scopes: ['modules:read'] });
    const smaller = await issue({ scopes: ['modules:read'], daily_quota: 50 });
    expectDenied(await call(server, 'DELETE', `/api-keys/${bigger.id}`, { key: caller.key }), /daily_quota must be at most this key's 100/);
    expectDenied(await call(server, 'DELETE', `/api-keys/${unlimited.id}`, { key: caller.key }), /daily_quota/);
    expectDenied(await call(server, 'PATCH', `/api-keys/${bigger.id}`, { key: caller.key, body: { daily_quota: 10 } }), /daily_quota/);
    expect((await call(server, 'GET', '/modules', { key: bigger.key })).status).toBe(200);
    expect((await call(server, 'GET', '/modules', { key: unlimited.key })).status).toBe(200);
    expect((await call(server, 'DELETE', `/api-keys/${smaller.id}`, { key: caller.key })).status).toBe(204);
    expect((await call(server, 'GET', '/modules', { key: smaller.key })).status).toBe(401);
  });

  it('cannot manage a key whose per-minute limit exceeds its own', async () => {
    const caller = await issue({ scopes: ['api-keys:*', 'modules:read'], tier: 'starter' });
    const faster = await issue({ scopes: ['modules:read'], tier: 'pro' });
    expectDenied(await call(server, 'PATCH', `/api-keys/${faster.id}`, { key: caller.key, body: { rate_limit_per_minute: 1 } }), /rate_limit_per_minute 5000 exceeds this key's 1000/);
    expectDenied(await call(server, 'POST', `/api-keys/${faster.id}/rotate`, { key: caller.key, body: {} }), /limits lie beyond its own/);
    expect((await keyState(faster.id)).rate_limit_per_minute).toBe(5000);
  });
});

describe('no key outlives the key that manages it', () => {
  it('a key that expires cannot patch itself to never expire, nor past its own expiry', async () => {
    const expiresAt = inMinutes(60);
    const self = await issue({ scopes: ['api-keys:write', 'modules:read'], expires_at: expiresAt });
    expectDenied(await call(server, 'PATCH', `/api-keys/${self.id}`, { key: self.key, body: { expires_at: null } }), /expires_at must be set and no later than/);
    expectDenied(await call(server, 'PATCH', `/api-keys/${self.id}`, { key: self.key, body: { expires_at: inMinutes(120) } }), /expires_at/);
    // One microsecond past its expiry would be stored a millisecond past it.
    const justAfter = `${expiresAt.slice(0, -1)}0001Z`;
    expectDenied(await call(server, 'PATCH', `/api-keys/${self.id}`, { key: self.key, body: { expires_at: justAfter } }), /expires_at/);
    expect((await keyState(self.id)).expires_at).toBe(expiresAt);
    const renamed = await call(server, 'PATCH', `/api-keys/${self.id}`, { key: self.key, body: { name: 'Still mine' } });
    expect(renamed.status).toBe(200);
    const shorter = await call(server, 'PATCH', `/api-keys/${self.id}`, { key: self.key, body: { expires_at: inMinutes(30) } });
    expect(shorter.status).toBe(200);
  });

  it('a key that expires cannot make a child without expiry or one that outlives it', async () => {
    const expiresAt = inMinutes(60);
    const parent = await issue({ scopes: ['api-keys:write', 'modules:read'], expires_at: expiresAt });
    const forever = await call(server, 'POST', '/api-keys', { key: parent.key, body: { name: 'Child', scopes: ['modules:read'] } });
    expectDenied(forever, /expires_at must be set and no later than this key's own expiry/);
    const later = await call(server, 'POST', '/api-keys', { key: parent.key, body: { name: 'Child', scopes: ['modules:read'], expires_at: inMinutes(61) } });
    expectDenied(later, /expires_at/);
    const within = await call(server, 'POST', '/api-keys', { key: parent.key, body: { name: 'Child', scopes: ['modules:read'], expires_at: expiresAt } });
    expect(within.status).toBe(201);
    // Nor can it lift the expiry of a key it did make, or revoke a key that outlives it.
    expectDenied(await call(server, 'PATCH', `/api-keys/${within.body.id}`, { key: parent.key, body: { expires_at: null } }), /expires_at/);
    const lasting = await issue({ scopes: ['modules:read'] });
    const deleter = await issue({ scopes: ['api-keys:delete', 'modules:read'], expires_at: expiresAt });
    expectDenied(await call(server, 'DELETE', `/api-keys/${lasting.id}`, { key: deleter.key }), /expires_at/);
    expect((await call(server, 'GET', '/modules', { key: lasting.key })).status).toBe(200);
  });
});

describe('a secret in its grace period cannot manage keys', () => {
  it('the old secret cannot rotate the owner out, nor patch, revoke or create', async () => {
    const original = await issue({ scopes: ['api-keys:*', 'modules:read'] });
    const rotated = await call(server, 'POST', `/api-keys/${original.id}/rotate`, { body: { grace_period_hours: 24 } });
    expect(rotated.status).toBe(200);
    const old = original.key;
    const current = rotated.body.key as string;
    // It may still call the API.
    expect((await call(server, 'GET', '/modules', { key: old })).status).toBe(200);
    expect((await call(server, 'GET', `/api-keys/${original.id}`, { key: old })).status).toBe(200);

    const takeover = await call(server, 'POST', `/api-keys/${original.id}/rotate`, { key: old, body: { grace_period_hours: 0 } });
    expectDenied(takeover, /grace period: it can call the API but cannot manage keys/);
    expect(takeover.text).not.toMatch(/sk_(live|test)_/);
    expectDenied(await call(server, 'PATCH', `/api-keys/${original.id}`, { key: old, body: { name: 'Mine now' } }), /grace period/);
    expectDenied(await call(server, 'POST', '/api-keys', { key: old, body: { name: 'Spare', scopes: ['modules:read'] } }), /grace period/);
    const other = await issue({ scopes: ['modules:read'] });
    expectDenied(await call(server, 'DELETE', `/api-keys/${other.id}`, { key: old }), /grace period/);
    expectDenied(await call(server, 'DELETE', `/api-keys/${original.id}`, { key: old }), /grace period/);

    // The owner's current secret is untouched and keeps every right.
    expect((await call(server, 'GET', '/modules', { key: current })).status).toBe(200);
    expect((await call(server, 'GET', '/modules', { key: other.key })).status).toBe(200);
    const ownRotation = await call(server, 'POST', `/api-keys/${original.id}/rotate`, { key: current, body: { grace_period_hours: 0 } });
    expect(ownRotation.status).toBe(200);
    expect((await call(server, 'GET', '/modules', { key: old })).status).toBe(401);
    expect((await call(server, 'GET', '/modules', { key: ownRotation.body.key })).status).toBe(200);
  });
});

describe('test keys mint only test keys', () => {
  it('a test key cannot create or manage live keys', async () => {
    const tester = await issue({ mode: 'test', scopes: ['api-keys:*', 'modules:read'] });
    expect(tester.key).toMatch(/^sk_test_/);
    const live = await call(server, 'POST', '/api-keys', { key: tester.key, body: { name: 'Live', scopes: ['modules:read'], mode: 'live' } });
    expectDenied(live, /a test key can only issue and manage test keys/);
    // `live` is the default mode, so leaving it out is the same request.
    expectDenied(await call(server, 'POST', '/api-keys', { key: tester.key, body: { name: 'Live', scopes: ['modules:read'] } }), /test key/);
    const liveTarget = await issue({ scopes: ['modules:read'] });
    expectDenied(await call(server, 'POST', `/api-keys/${liveTarget.id}/rotate`, { key: tester.key, body: {} }), /test key/);
    expectDenied(await call(server, 'DELETE', `/api-keys/${liveTarget.id}`, { key: tester.key }), /test key/);
    const child = await call(server, 'POST', '/api-keys', { key: tester.key, body: { name: 'Test', scopes: ['modules:read'], mode: 'test' } });
    expect(child.status).toBe(201);
    expect(child.body.key).toMatch(/^sk_test_/);
  });
});

describe('no secret at rest', () => {
  const postIdempotent = (path: string, body: unknown, idempotencyKey: string, key = server.key) =>
    call(server, 'POST', path, { key, body, headers: { 'idempotency-key': idempotencyKey } });

  it('a replay of a create or a rotate still returns the key, and no table holds a recoverable secret', async () => {
    const secrets: string[] = [server.key];
    const runId = Math.random().toString(36).slice(2);
    for (let i = 0; i < 3; i++) {
      const body = { name: `Sealed ${i}`, scopes: ['modules:read'], mode: i % 2 === 0 ? 'live' : 'test' };
      const first = await postIdempotent('/api-keys', body, `create-${runId}-${i}`);
      expect(first.status).toBe(201);
      const replay = await postIdempotent('/api-keys', body, `create-${runId}-${i}`);
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(first.body);
      secrets.push(first.body.key);
      const rotation = await postIdempotent(`/api-keys/${first.body.id}/rotate`, { grace_period_hours: 1 }, `rotate-${runId}-${i}`);
      expect(rotation.status).toBe(200);
      const rotationReplay = await postIdempotent(`/api-keys/${first.body.id}/rotate`, { grace_period_hours: 1 }, `rotate-${runId}-${i}`);
      expect(rotationReplay.headers.get('idempotent-replayed')).toBe('true');
      expect(rotationReplay.body.key).toBe(rotation.body.key);
      secrets.push(rotation.body.key);
      // The replayed secret is the real one.
      expect((await call(server, 'GET', '/modules', { key: rotationReplay.body.key })).status).toBe(200);
    }

    const { sql } = server.database;
    // The stored replies are there (so the scan below looks at them), just not readable.
    const stored = await sql<{ n: number }[]>`
      select count(*)::int as n from idempotency_keys
      where idempotency_key like ${`%-${runId}-%`} and status in (200, 201) and response_body is not null and response_body <> ''`;
    expect(stored[0]?.n).toBe(6);

    const columns = await sql<{ table_schema: string; table_name: string; column_name: string }[]>`
      select c.table_schema, c.table_name, c.column_name
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema')`;
    expect(columns.some((column) => column.table_name === 'idempotency_keys' && column.column_name === 'response_body')).toBe(true);
    const encodings = secrets.flatMap((secret) => [
      secret,
      secret.slice(8), // without the sk_live_ / sk_test_ prefix
      Buffer.from(secret).toString('hex'),
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
    ]);
    const found: string[] = [];
    for (const { table_schema, table_name, column_name } of columns) {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from ${sql(table_schema)}.${sql(table_name)} x
        where ${sql(column_name)}::text ~ 'sk_(live|test)_[0-9A-Za-z]{38}'
           or exists (select 1 from unnest(${encodings}::text[]) e where position(e in ${sql(column_name)}::text) > 0)`;
      if ((row?.n ?? 0) > 0) found.push(`${table_schema}.${table_name}.${column_name}`);
    }
    expect(found).toEqual([]);
  });

  it('a stored reply opens only for the secret that sent the request', async () => {
    const owner = await issue({ scopes: ['api-keys:write', 'modules:read'] });
    const idempotencyKey = `self-rotate-${Math.random().toString(36).slice(2)}`;
    const first = await postIdempotent(`/api-keys/${owner.id}/rotate`, { grace_period_hours: 1 }, idempotencyKey, owner.key);
    expect(first.status).toBe(200);
    // The new secret belongs to the same key, so it reaches the same idempotency record, but it
    // cannot open a reply sealed under the old one: a clear 422, never a 500 or the plaintext.
    const other = await postIdempotent(`/api-keys/${owner.id}/rotate`, { grace_period_hours: 1 }, idempotencyKey, first.body.key);
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ error: 'idempotency_key_reused' });
    expect(other.body.message).toMatch(/another secret of this API key/);
    expect(other.text).not.toMatch(/sk_(live|test)_/);
    // The sending secret, a retry after a lost response, still gets its key.
    const retry = await postIdempotent(`/api-keys/${owner.id}/rotate`, { grace_period_hours: 1 }, idempotencyKey, owner.key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.key).toBe(first.body.key);
  });

  it('responses that carry a secret, and their replays, are sent with Cache-Control: no-store', async () => {
    const idempotencyKey = `no-store-${Math.random().toString(36).slice(2)}`;
    const body = { name: 'Uncached', scopes: ['modules:read'] };
    const created = await postIdempotent('/api-keys', body, idempotencyKey);
    const replay = await postIdempotent('/api-keys', body, idempotencyKey);
    const plain = await call(server, 'POST', '/api-keys', { body });
    const rotated = await call(server, 'POST', `/api-keys/${created.body.id}/rotate`, { body: {} });
    const rotateKey = `no-store-rotate-${Math.random().toString(36).slice(2)}`;
    const rotatedOnce = await postIdempotent(`/api-keys/${plain.body.id}/rotate`, {}, rotateKey);
    const rotatedReplay = await postIdempotent(`/api-keys/${plain.body.id}/rotate`, {}, rotateKey);
    for (const response of [created, replay, plain, rotated, rotatedOnce, rotatedReplay]) {
      expect(response.status).toBeLessThan(300);
      expect(response.body.key).toMatch(/^sk_live_/);
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
    expect(rotatedReplay.headers.get('idempotent-replayed')).toBe('true');
  });
});
