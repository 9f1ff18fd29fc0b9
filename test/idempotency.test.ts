import { randomUUID } from 'node:crypto';
import { defaultHandlers } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let moduleId: string;
let failNextCreate = false;

beforeAll(async () => {
  server = await startTestServer({
    handlers: {
      // Lets a test make one create fail as a server error, to see the key released.
      createModule: async (ctx, input) => {
        if (failNextCreate) {
          failNextCreate = false;
          throw new Error('simulated crash');
        }
        return defaultHandlers.createModule(ctx, input);
      },
    },
  });
  moduleId = (await createModule(server, [{ name: 'n', type: 'number', required: true }])).id;
});
afterAll(() => server.close());

const records = () => `/modules/${moduleId}/records`;
const countRecords = async () =>
  (await server.database.sql<{ n: number }[]>`select count(*)::int as n from records where module_id = ${moduleId}`)[0]?.n;

describe('Idempotency-Key', () => {
  it('replays the first response byte for byte, marked as replayed, and creates nothing more', async () => {
    const key = randomUUID();
    const before = await countRecords();
    const first = await call(server, 'POST', records(), { body: { data: { n: 1 } }, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await call(server, 'POST', records(), { body: { data: { n: 1 } }, headers: { 'idempotency-key': key } });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(await countRecords()).toBe((before ?? 0) + 1);
  });

  it('accepts the key as a quoted structured-field string, equal to the bare form', async () => {
    const key = `k-${randomUUID()}`;
    const bare = await call(server, 'POST', records(), { body: { data: { n: 2 } }, headers: { 'idempotency-key': key } });
    const quoted = await call(server, 'POST', records(), { body: { data: { n: 2 } }, headers: { 'idempotency-key': `"${key}"` } });
    expect(quoted.headers.get('idempotent-replayed')).toBe('true');
    expect(quoted.text).toBe(bare.text);
  });

  it('refuses the same key with a different request (422) and malformed keys (400)', async () => {
    const key = randomUUID();
    await call(server, 'POST', records(), { body: { data: { n: 3 } }, headers: { 'idempotency-key': key } });
    const otherBody = await call(server, 'POST', records(), { body: { data: { n: 4 } }, headers: { 'idempotency-key': key } });
    expect(otherBody.status).toBe(422);
    expect(otherBody.body.error).toBe('idempotency_key_reused');
    const otherPath = await call(server, 'POST', '/modules', { body: { name: `Other path ${key}` }, headers: { 'idempotency-key': key } });
    expect(otherPath.status).toBe(422);
    expect(otherPath.body.error).toBe('idempotency_key_reused');

    for (const bad of ['', 'x'.repeat(256), 'tab\tinside', 'caf\u00e9', '"unterminated']) {
      const response = await call(server, 'POST', records(), { body: { data: { n: 5 } }, headers: { 'idempotency-key': bad } });
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(response.body.error).toBe('bad_request');
    }
  });

  it('is scoped to the API key: another key may use the same value', async () => {
    const other = await call(server, 'POST', '/api-keys', { body: { name: 'second', scopes: ['records:*'] } });
    const key = randomUUID();
    const mine = await call(server, 'POST', records(), { body: { data: { n: 6 } }, headers: { 'idempotency-key': key } });
    const theirs = await call({ url: server.url, key: other.body.key }, 'POST', records(), {
      body: { data: { n: 6 } },
      headers: { 'idempotency-key': key },
    });
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('stores a 4xx answer and replays it; commits nothing of a failed request', async () => {
    const key = randomUUID();
    const before = await countRecords();
    const invalid = await call(server, 'POST', records(), { body: { data: { n: 'seven' } }, headers: { 'idempotency-key': key } });
    expect(invalid.status).toBe(422);
    const replay = await call(server, 'POST', records(), { body: { data: { n: 'seven' } }, headers: { 'idempotency-key': key } });
    expect(replay.status).toBe(422);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(invalid.text);
    expect(await countRecords()).toBe(before);
  });

  it('frees the key after a server error, so that the retry runs', async () => {
    const key = randomUUID();
    failNextCreate = true;
    const crashed = await call(server, 'POST', '/modules', { body: { name: `Crash ${key}` }, headers: { 'idempotency-key': key } });
    expect(crashed.status).toBe(500);
    const retried = await call(server, 'POST', '/modules', { body: { name: `Crash ${key}` }, headers: { 'idempotency-key': key } });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });

  it('replays a DELETE as 204 without deleting twice', async () => {
    const record = await call(server, 'POST', records(), { body: { data: { n: 8 } } });
    const key = randomUUID();
    const first = await call(server, 'DELETE', `${records()}/${record.body.id}`, { headers: { 'idempotency-key': key } });
    expect(first.status).toBe(204);
    const again = await call(server, 'DELETE', `${records()}/${record.body.id}`, { headers: { 'idempotency-key': key } });
    expect(again.status).toBe(204);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const unkeyed = await call(server, 'DELETE', `${records()}/${record.body.id}`);
    expect(unkeyed.status).toBe(404);
  });

  it('fifty concurrent POSTs with one key create exactly one record; the rest replay it or get 409', async () => {
    const key = randomUUID();
    const before = await countRecords();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => call(server, 'POST', records(), { body: { data: { n: 9 } }, headers: { 'idempotency-key': key } })),
    );
    expect(await countRecords()).toBe((before ?? 0) + 1);
    const created = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(created).toHaveLength(1);
    for (const answer of answers) {
      if (answer === created[0]) continue;
      if (answer.status === 201) {
        expect(answer.headers.get('idempotent-replayed')).toBe('true');
        expect(answer.text).toBe(created[0]!.text);
      } else {
        expect(answer.status).toBe(409);
        expect(answer.body.error).toBe('idempotency_key_in_use');
        expect(answer.headers.get('retry-after')).toBe('1');
      }
    }
  });

  it('retries racing the first request through its commit never run the effect twice', async () => {
    // Each round: a request, and four loops retrying the same key until it has answered, then
    // once more (any of them may reach the claim first). A retry whose claim overlaps the commit must see the stored reply (a replay)
    // or the lock (409), never an empty slot: the claim reads the reply after taking the lock.
    for (let round = 0; round < 25; round++) {
      const key = randomUUID();
      const before = await countRecords();
      const post = () => call(server, 'POST', records(), { body: { data: { n: round } }, headers: { 'idempotency-key': key } });
      let done = false;
      const first = post()
        .then((answer) => [answer])
        .finally(() => {
          done = true;
        });
      const retry = async () => {
        const answers: Awaited<ReturnType<typeof post>>[] = [];
        for (let sent = 0; sent < 200 && !done; sent++) answers.push(await post());
        answers.push(await post());
        return answers;
      };
      const answers = (await Promise.all([first, retry(), retry(), retry(), retry()])).flat();
      // Whichever of them ran first, the key's effect happened once; wait until it has answered.
      let settled = await post();
      for (let sent = 0; sent < 200 && settled.status === 409; sent++) settled = await post();
      expect(settled.status).toBe(201);
      expect(await countRecords()).toBe((before ?? 0) + 1);
      for (const answer of answers) {
        expect([201, 409]).toContain(answer.status);
        if (answer.status === 201) expect(answer.body.id).toBe(settled.body.id);
      }
      expect(answers.filter((answer) => answer.status === 201 && answer.headers.get('idempotent-replayed') === null).length).toBeLessThanOrEqual(1);
    }
  });

  it('treats a record older than 24 hours as gone', async () => {
    const key = randomUUID();
    await call(server, 'POST', records(), { body: { data: { n: 10 } }, headers: { 'idempotency-key': key } });
    await server.database.sql`update idempotency_keys set expires_at = now() - interval '1 second' where idempotency_key = ${key}`;
    const fresh = await call(server, 'POST', records(), { body: { data: { n: 10 } }, headers: { 'idempotency-key': key } });
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
  });
});
