import { randomUUID } from 'node:crypto';
import { MAX_RECORD_DATA_BYTES } from '@charter/contracts';
import { createWorkspace } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { letters } from './support/data.ts';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

/**
 * A create sends the record in the same statement that reads its module, and the module's checks
 * (exposure, fields) run on what that statement returns: whatever they refuse must leave no row,
 * no kept count and no event behind, with or without an Idempotency-Key, and answer in the
 * envelope (never a 500 from data PostgreSQL cannot take).
 */
let server: TestServer;
let moduleId: string;

beforeAll(async () => {
  server = await startTestServer();
  moduleId = (
    await createModule(server, [
      { name: 'title', type: 'string', required: true },
      { name: 'rank', type: 'number' },
      { name: 'due', type: 'date' },
      { name: 'meta', type: 'json' },
    ])
  ).id;
});
afterAll(() => server.close());

/** Everything a create can leave behind in the workspace. */
async function traces(): Promise<{ records: number; kept: number; events: number }> {
  const [row] = await server.database.sql<{ records: number; kept: number; events: number }[]>`
    select (select count(*)::int from records where workspace_id = ${server.workspaceId}) as records,
           (select coalesce(sum(c.count), 0)::int from record_counts c join modules m on m.id = c.module_id
             where m.workspace_id = ${server.workspaceId}) as kept,
           (select count(*)::int from webhook_events where workspace_id = ${server.workspaceId}) as events`;
  return row!;
}

/** A raw JSON body, for values JSON.stringify would not write (U+0000 escapes, lone surrogates, 1e400). */
const raw = (json: string) => ({ rawBody: json, headers: { 'content-type': 'application/json' } });

const refusals: { name: string; status: number; error: string; options: () => Parameters<typeof call>[3]; path?: () => string }[] = [
  { name: 'a field the module does not declare', status: 422, error: 'validation_failed', options: () => ({ body: { data: { title: 't', colour: 'red' } } }) },
  { name: 'a required field left out', status: 422, error: 'validation_failed', options: () => ({ body: { data: { rank: 1 } } }) },
  { name: 'a value of the wrong type', status: 422, error: 'validation_failed', options: () => ({ body: { data: { title: 't', rank: 'high' } } }) },
  { name: 'a date that does not exist', status: 422, error: 'validation_failed', options: () => ({ body: { data: { title: 't', due: '2026-02-30' } } }) },
  { name: 'U+0000 in a declared value', status: 422, error: 'validation_failed', options: () => raw('{"data":{"title":"a\\u0000b"}}') },
  { name: 'U+0000 in a nested json value', status: 422, error: 'validation_failed', options: () => raw('{"data":{"title":"t","meta":{"k":["\\u0000"]}}}') },
  { name: 'a lone surrogate in an undeclared key', status: 422, error: 'validation_failed', options: () => raw('{"data":{"title":"t","\\ud800":1}}') },
  { name: 'a number beyond JSON in a json field', status: 422, error: 'validation_failed', options: () => raw('{"data":{"title":"t","meta":{"big":1e400}}}') },
  {
    name: 'data over the size bound',
    status: 422,
    error: 'validation_failed',
    options: () => ({ body: { data: { title: letters(MAX_RECORD_DATA_BYTES) } } }),
  },
  { name: 'an absent module', status: 404, error: 'not_found', options: () => ({ body: { data: { title: 't' } } }), path: () => '/modules/mod_00000000000000000000000000/records' },
];

describe('a refused create leaves nothing behind', () => {
  for (const idempotent of [false, true]) {
    for (const refusal of refusals) {
      it(`${refusal.name}${idempotent ? ', with an Idempotency-Key' : ''}`, async () => {
        const before = await traces();
        const options = refusal.options() ?? {};
        if (idempotent) options.headers = { ...options.headers, 'idempotency-key': randomUUID() };
        const answer = await call(server, 'POST', refusal.path?.() ?? `/modules/${moduleId}/records`, options);
        expect(answer.status, answer.text).toBe(refusal.status);
        expect(answer.body.error).toBe(refusal.error);
        expect(await traces()).toEqual(before);
      });
    }
  }

  it('a module of another workspace, one switched off, and one without create: 404, 404, 405, nothing written', async () => {
    const other = await createWorkspace(server.database.sql, { name: 'Elsewhere' });
    const foreign = (await createModule({ url: server.url, key: other.key }, [{ name: 'title', type: 'string' }])).id;
    const off = (await createModule(server, [{ name: 'title', type: 'string' }])).id;
    expect((await call(server, 'PATCH', `/modules/${off}`, { body: { api_enabled: false } })).status).toBe(200);
    const listOnly = (await createModule(server, [{ name: 'title', type: 'string' }])).id;
    expect((await call(server, 'PATCH', `/modules/${listOnly}`, { body: { api_methods: ['list'] } })).status).toBe(200);

    const before = await traces();
    const create = (id: string) => call(server, 'POST', `/modules/${id}/records`, { body: { data: { title: 't' } } });
    expect((await create(foreign)).status).toBe(404);
    expect((await create(off)).status).toBe(404);
    const switchedOff = await create(listOnly);
    expect(switchedOff.status).toBe(405);
    expect(switchedOff.headers.get('allow')).toBe('GET');
    expect(await traces()).toEqual(before);
    const [foreignRows] = await server.database.sql<{ n: number }[]>`select count(*)::int as n from records where module_id = ${foreign}`;
    expect(foreignRows?.n).toBe(0);
  });

  it('a create its checks accept still writes its record once, and the kept count with it', async () => {
    const before = await traces();
    const created = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { title: 'kept', rank: 2, due: '2026-12-02', meta: { a: [1] } } } });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ module_id: moduleId, data: { title: 'kept', rank: 2, due: '2026-12-02', meta: { a: [1] } } });
    expect(await traces()).toEqual({ ...before, records: before.records + 1, kept: before.kept + 1 });
  });
});
