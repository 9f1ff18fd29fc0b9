import { connect, type Database } from '@charter/db';
import { type App, createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, createModule } from './support/server.ts';

/** What each request costs the database, counted statement by statement. */
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
  server = { url: running.url, key: (await createWorkspace(database.sql, { name: 'Counted' })).key };
});
afterAll(async () => {
  await running.close(1000);
  await database.close();
});

/**
 * The statements one request sends, leaving out what is off its path: the access log's batched
 * writes, `last_used_at`, written at most once a minute and not awaited (its own row in the
 * README's table), and rate-limit tokens given back by an idle key, which may land in any
 * request's window.
 */
async function statementsOf(request: () => Promise<unknown>): Promise<string[]> {
  await app.flush();
  statements.length = 0;
  await request();
  return statements.filter(
    (query) =>
      !/^insert into (access_logs|usage_minutes|unauthenticated_requests)|^(begin|commit)$|^update api_keys set last_used_at|^update rate_limit_counters set count = greatest/i.test(
        query,
      ),
  );
}

describe('database round trips per request', () => {
  it('authentication and rate limiting together cost one statement', async () => {
    const module = await createModule(server, []);
    await call(server, 'GET', '/modules');
    const sent = await statementsOf(() => call(server, 'GET', `/modules/${module.id}`));
    const admission = sent.filter((query) => query.includes('api_key_secrets'));
    expect(admission).toHaveLength(1);
    expect(admission[0]).toContain('rate_limit_counters');
    expect(sent).toHaveLength(2); // admission + the handler's one select
  });

  it('an unknown route or malformed body still costs only the admission', async () => {
    expect(await statementsOf(() => call(server, 'GET', '/nowhere'))).toHaveLength(1);
    const malformed = await statementsOf(() =>
      call(server, 'POST', '/modules', { rawBody: '{', headers: { 'content-type': 'application/json' } }),
    );
    expect(malformed).toHaveLength(1);
  });

  it('a malformed key costs one address-counter statement and no key lookup', async () => {
    const sent = await statementsOf(() => call(server, 'GET', '/modules', { key: 'sk_live_tooShort' }));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain("rate_limit_counters");
    expect(sent[0]).not.toContain('api_key_secrets');
  });
});
