import { connect } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';
import { type ApiProcess, startApiProcess } from './support/process.ts';
import { call } from './support/server.ts';

// Two server processes sharing one PostgreSQL server: what one does, the other enforces at once.
describe.skipIf(!onServer)(serverOnly('keys across server processes'), () => {
  let first: ApiProcess;
  let second: ApiProcess;
  let rootKey: string;

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    const database = await connect({ databaseUrl, max: 1 });
    rootKey = (await createWorkspace(database.sql, { name: 'Multi-process' })).key;
    await database.close();
    [first, second] = await Promise.all([startApiProcess({ DATABASE_URL: databaseUrl }), startApiProcess({ DATABASE_URL: databaseUrl })]);
  });
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  it('a key revoked on one process is refused by the other on its very next request', async () => {
    const a = { url: first.url, key: rootKey };
    const created = await call(a, 'POST', '/api-keys', { body: { name: 'short-lived', scopes: ['modules:read'] } });
    const b = { url: second.url, key: created.body.key };
    expect((await call(b, 'GET', '/modules')).status).toBe(200);
    expect((await call(a, 'DELETE', `/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await call(b, 'GET', '/modules')).status).toBe(401);
  });

  it('the end of a rotation grace period holds on the other process', async () => {
    const a = { url: first.url, key: rootKey };
    const created = await call(a, 'POST', '/api-keys', { body: { name: 'rotating', scopes: ['modules:read'] } });
    const rotated = await call(a, 'POST', `/api-keys/${created.body.id}/rotate`, { body: { grace_period_hours: 1 } });
    expect(rotated.status).toBe(200);
    const old = { url: second.url, key: created.body.key as string };
    const fresh = { url: second.url, key: rotated.body.key as string };
    expect((await call(old, 'GET', '/modules')).status).toBe(200);
    expect((await call(fresh, 'GET', '/modules')).status).toBe(200);
    // The grace period ends in the shared database (rather than an hour later): the other process must see it.
    const database = await connect({ databaseUrl: inject('databaseUrl'), max: 1 });
    await database.sql`update api_key_secrets set expires_at = now() - interval '1 second' where key_id = ${created.body.id} and expires_at is not null`;
    await database.close();
    expect((await call(old, 'GET', '/modules')).status).toBe(401);
    expect((await call(fresh, 'GET', '/modules')).status).toBe(200);
  });
});
