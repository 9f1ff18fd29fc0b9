import { randomUUID } from 'node:crypto';
import { defaultHandlers } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

/**
 * An idempotent call's work is sent right behind its claim, before the claim's answer is known
 * (IdempotencyStore.runOnce): a call that a stored reply answers, or whose key is in flight, has
 * started its work all the same. That work must leave nothing behind, whatever it did (an insert,
 * several statements, a kept count), and must never wait on the in-flight call's locks.
 */
let server: TestServer;
let moduleId: string;
/** Set by a test: the next update waits for it, holding its record's row lock and the key's claim. */
let holdNextUpdate: { reached: () => void; release: Promise<void> } | undefined;

beforeAll(async () => {
  server = await startTestServer({
    handlers: {
      updateRecord: async (ctx, input) => {
        const hold = holdNextUpdate;
        holdNextUpdate = undefined;
        const updated = await defaultHandlers.updateRecord(ctx, input);
        if (hold) {
          hold.reached();
          await hold.release;
        }
        return updated;
      },
    },
  });
  moduleId = (await createModule(server, [{ name: 'n', type: 'number', required: true }])).id;
});
afterAll(() => server.close());

const records = () => `/modules/${moduleId}/records`;
const total = async () => (await call(server, 'GET', `${records()}?limit=1`)).body.total as number;
const stored = async () =>
  (await server.database.sql<{ n: number }[]>`select count(*)::int as n from records where module_id = ${moduleId}`)[0]?.n;

describe('work sent behind the claim of a call that does not run', () => {
  it('a replayed create leaves no record and no count behind', async () => {
    const key = randomUUID();
    const first = await call(server, 'POST', records(), { body: { data: { n: 1 } }, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    const [rows, counted] = [await stored(), await total()];
    for (let attempt = 0; attempt < 5; attempt++) {
      const again = await call(server, 'POST', records(), { body: { data: { n: 1 } }, headers: { 'idempotency-key': key } });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.text).toBe(first.text);
    }
    expect(await stored()).toBe(rows);
    expect(await total()).toBe(counted);
  });

  it('a key reused with another body is refused, and the other body is not stored', async () => {
    const key = randomUUID();
    expect((await call(server, 'POST', records(), { body: { data: { n: 2 } }, headers: { 'idempotency-key': key } })).status).toBe(201);
    const [rows, counted] = [await stored(), await total()];
    const reused = await call(server, 'POST', records(), { body: { data: { n: 3 } }, headers: { 'idempotency-key': key } });
    expect(reused.status).toBe(422);
    expect(reused.body.error).toBe('idempotency_key_reused');
    expect(await stored()).toBe(rows);
    expect(await total()).toBe(counted);
    const found = await server.database.sql<{ n: number }[]>`select count(*)::int as n from records where module_id = ${moduleId} and data->>'n' = '3'`;
    expect(found[0]?.n).toBe(0);
  });

  it('a replayed rotation (several statements) issues no second secret', async () => {
    const issued = await call(server, 'POST', '/api-keys', { body: { name: 'Rotated', scopes: ['modules:read'] } });
    expect(issued.status).toBe(201);
    const key = randomUUID();
    const rotate = () => call(server, 'POST', `/api-keys/${issued.body.id}/rotate`, { body: { grace_period_hours: 1 }, headers: { 'idempotency-key': key } });
    const first = await rotate();
    expect(first.status).toBe(200);
    const again = await rotate();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.key).toBe(first.body.key);
    const secrets = await server.database.sql<{ n: number }[]>`select count(*)::int as n from api_key_secrets where key_id = ${issued.body.id}`;
    // The first secret, in its grace period, and the one the rotation issued: no third.
    expect(secrets[0]?.n).toBe(2);
    for (const secret of [issued.body.key, first.body.key]) expect((await call(server, 'GET', '/api-keys/current', { key: secret })).status).toBe(200);
  });

  // Two calls at once need two connections: the embedded database has one.
  it.skipIf(!onServer)(serverOnly('a retry while the first call holds its record answers 409 at once, without waiting on its locks'), async () => {
    const created = await call(server, 'POST', records(), { body: { data: { n: 10 } } });
    const path = `${records()}/${created.body.id}`;
    const key = randomUUID();
    let reached!: () => void;
    const isHolding = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    holdNextUpdate = { reached, release: new Promise<void>((resolve) => (release = resolve)) };
    // The first call updates the record (its row is locked until it commits) and waits.
    const first = call(server, 'PATCH', path, { body: { data: { n: 11 } }, headers: { 'idempotency-key': key } });
    await isHolding;
    try {
      // The retry's own update of that row is sent behind its claim: were it to wait for the row,
      // this answer would only come after the release below, and the test would time out.
      const retry = await call(server, 'PATCH', path, { body: { data: { n: 11 } }, headers: { 'idempotency-key': key } });
      expect(retry.status).toBe(409);
      expect(retry.body.error).toBe('idempotency_key_in_use');
      expect(retry.headers.get('retry-after')).toBe('1');
    } finally {
      release();
    }
    const done = await first;
    expect(done.status).toBe(200);
    expect(done.body.data).toEqual({ n: 11 });
    const replay = await call(server, 'PATCH', path, { body: { data: { n: 11 } }, headers: { 'idempotency-key': key } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(done.text);
  });
});
