import { randomBytes } from 'node:crypto';
import { openSecret } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from './support/server.ts';

const sealingKey = randomBytes(32);
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ webhooks: { sealingKey, allowedHosts: ['127.0.0.1'] } });
});
afterAll(() => server.close());

describe('webhook signing secrets at rest', () => {
  it('are nowhere in the database in plain, hex or base64: not in their rows, not in stored idempotent replies', async () => {
    const runId = Math.random().toString(36).slice(2);
    const post = (path: string, body: unknown, idempotencyKey: string) =>
      call(server, 'POST', path, { body, headers: { 'idempotency-key': idempotencyKey } });
    const shown: string[] = [];
    const endpointIds: string[] = [];
    for (const signing of ['hmac', 'ed25519', 'hmac']) {
      const body = { url: 'https://example.com/hook', events: ['*'], signing };
      const created = await post('/webhooks', body, `create-${runId}-${signing}-${endpointIds.length}`);
      expect(created.status, created.text).toBe(201);
      const replay = await post('/webhooks', body, `create-${runId}-${signing}-${endpointIds.length}`);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(created.body);
      endpointIds.push(created.body.id);
      if (created.body.secret) shown.push(created.body.secret);
      const rotated = await post(`/webhooks/${created.body.id}/rotate-secret`, { grace_period_hours: 1 }, `rotate-${runId}-${created.body.id}`);
      expect(rotated.status, rotated.text).toBe(200);
      const rotatedReplay = await post(`/webhooks/${created.body.id}/rotate-secret`, { grace_period_hours: 1 }, `rotate-${runId}-${created.body.id}`);
      expect(rotatedReplay.body.secret).toBe(rotated.body.secret);
      if (rotated.body.secret) shown.push(rotated.body.secret);
    }
    expect(shown).toHaveLength(4);

    const { sql } = server.database;
    // Every secret the database holds, opened with the key it does not hold: the shown ones and the
    // Ed25519 private keys no answer carries.
    const sealed = await sql<{ endpoint_id: string; sealed: Buffer }[]>`
      select endpoint_id, sealed from webhook_secrets where endpoint_id = any(${endpointIds}::text[])`;
    const secrets = sealed.map((row) => openSecret(sealingKey, row.endpoint_id, row.sealed));
    expect(secrets).toHaveLength(6);
    expect(secrets).toEqual(expect.arrayContaining(shown));
    expect(secrets.filter((secret) => secret.startsWith('whsk_'))).toHaveLength(2);
    // The stored replies are there, so the scan below reads them.
    const [stored] = await sql<{ n: number }[]>`
      select count(*)::int as n from idempotency_keys where idempotency_key like ${`%-${runId}-%`} and status in (200, 201) and response_body <> ''`;
    expect(stored?.n).toBe(6);

    const encodings = secrets.flatMap((secret) => {
      const raw = Buffer.from(secret.slice(secret.indexOf('_') + 1), 'base64');
      return [
        secret,
        secret.slice(secret.indexOf('_') + 1),
        Buffer.from(secret).toString('hex'),
        Buffer.from(secret).toString('base64'),
        Buffer.from(secret).toString('base64url'),
        raw.toString('hex'),
        raw.toString('base64url'),
      ];
    });
    const columns = await sql<{ table_schema: string; table_name: string; column_name: string; data_type: string }[]>`
      select c.table_schema, c.table_name, c.column_name, c.data_type
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema')`;
    expect(columns.some((column) => column.table_name === 'webhook_secrets' && column.column_name === 'sealed')).toBe(true);
    const found: string[] = [];
    for (const { table_schema, table_name, column_name, data_type } of columns) {
      // bytea as its hex text and as the text of its bytes, so that a secret stored raw is found too.
      const text = data_type === 'bytea' ? sql`encode(${sql(column_name)}, 'hex') || encode(${sql(column_name)}, 'escape')` : sql`${sql(column_name)}::text`;
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from ${sql(table_schema)}.${sql(table_name)} x
        where ${text} ~ 'wh(sec|sk)_[A-Za-z0-9+/=]{20,}'
           or exists (select 1 from unnest(${encodings}::text[]) e where position(e in ${text}) > 0)`;
      if ((row?.n ?? 0) > 0) found.push(`${table_schema}.${table_name}.${column_name}`);
    }
    expect(found).toEqual([]);
  });

  it('are not opened by another key, nor for another endpoint', async () => {
    const created = await call(server, 'POST', '/webhooks', { body: { url: 'https://example.com/hook', events: ['*'] } });
    const other = await call(server, 'POST', '/webhooks', { body: { url: 'https://example.com/other', events: ['*'] } });
    const [row] = await server.database.sql<{ sealed: Buffer }[]>`select sealed from webhook_secrets where endpoint_id = ${created.body.id}`;
    const sealed = (row as { sealed: Buffer }).sealed;
    expect(openSecret(sealingKey, created.body.id, sealed)).toBe(created.body.secret);
    expect(() => openSecret(randomBytes(32), created.body.id, sealed)).toThrow(/does not open/);
    expect(() => openSecret(sealingKey, other.body.id, sealed)).toThrow(/does not open/);
  });
});
