import { connect, type Database } from '@charter/db';
import { type App, createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, createModule } from './support/server.ts';

/** What the exposure check costs the database, counted statement by statement (as in round-trips.test.ts). */
let database: Database;
let app: App;
let running: RunningServer;
let server: { url: string; key: string };
const statements: string[] = [];

beforeAll(async () => {
  const pglite = inject('databaseKind') === 'pglite';
  database = await connect({
    databaseUrl: inject('databaseUrl'),
    max: pglite ? 1 : 10,
    fastPool: !pglite,
    onQuery: (_pool, query) => statements.push(query.replace(/\s+/g, ' ').trim()),
  });
  app = createApp({ sql: database.sql, fastSql: database.fastSql, logError: () => {}, addressLimitPerMinute: 1_000_000 });
  running = await listen(app, 0);
  server = { url: running.url, key: (await createWorkspace(database.sql, { name: 'Exposure counted' })).key };
});
afterAll(async () => {
  await running.close(1000);
  await database.close();
});

/** The statements one request sends, without the batched logs, BEGIN/COMMIT and last_used_at. */
async function statementsOf(request: () => Promise<{ status: number }>, status: number): Promise<string[]> {
  await app.flush();
  statements.length = 0;
  expect((await request()).status).toBe(status);
  return statements.filter(
    (query) => !/^insert into (access_logs|usage_minutes|unauthenticated_requests)|^(begin|commit)$|^update api_keys set last_used_at/i.test(query),
  );
}

const exposureLookups = (sent: string[]) => sent.filter((query) => /^select id, api_enabled, api_methods from modules/.test(query));

describe('what the exposure check costs', () => {
  it('nothing on a record get (one statement reads the module\'s exposure and the record), list, create or update; one lookup on a delete', async () => {
    const module = await createModule(server, [{ name: 'email', type: 'string' }]);
    const records = `/modules/${module.id}/records`;
    const created = await call(server, 'POST', records, { body: { data: { email: 'a@example.com' } } });

    const get = await statementsOf(() => call(server, 'GET', `${records}/${created.body.id}`), 200);
    expect(get).toHaveLength(2); // admission + the handler's one select
    expect(get[1]).toContain('api_methods');

    expect(exposureLookups(await statementsOf(() => call(server, 'GET', records), 200))).toEqual([]);
    expect(exposureLookups(await statementsOf(() => call(server, 'POST', records, { body: { data: { email: 'b@example.com' } } }), 201))).toEqual([]);
    const patch = () => call(server, 'PATCH', `${records}/${created.body.id}`, { body: { data: { email: 'c@example.com' } } });
    expect(exposureLookups(await statementsOf(patch, 200))).toEqual([]);
    expect(exposureLookups(await statementsOf(() => call(server, 'DELETE', `${records}/${created.body.id}`), 204))).toHaveLength(1);
  });
});
