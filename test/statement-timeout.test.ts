import { randomUUID } from 'node:crypto';
import { MAX_RECORD_DATA_BYTES } from '@charter/contracts';
import { connect, type Database } from '@charter/db';
import { createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { letters } from './support/data.ts';
import { call } from './support/server.ts';

// PGlite cannot interrupt a statement (it ignores statement_timeout), so only a server shows this.
const onServer = inject('databaseKind') === 'postgres';

describe.skipIf(!onServer)('the statement timeout (skipped on PGlite: it cannot interrupt a statement)', () => {
  let database: Database;
  let running: RunningServer;
  let server: { url: string; key: string };
  let moduleId: string;

  beforeAll(async () => {
    database = await connect({ databaseUrl: inject('databaseUrl'), max: 4, statementTimeoutMs: 100 });
    running = await listen(createApp({ sql: database.sql, fastSql: database.fastSql, logError: () => {}, addressLimitPerMinute: 1_000_000 }), 0);
    const workspace = await createWorkspace(database.sql, { name: 'Timeout' });
    server = { url: running.url, key: workspace.key };
    const module = await call(server, 'POST', '/modules', { body: { name: 'Blobs', fields: [{ name: 'body', type: 'string' }] } });
    moduleId = module.body.id;
    // Stored past the API: writing a record this large updates its index for longer than 100 ms.
    const seed = await connect({ databaseUrl: inject('databaseUrl'), max: 1 });
    try {
      for (let count = 0; count < 80; count++) {
        await seed.sql`
          insert into records (id, workspace_id, module_id, data)
          values (${`rec_${randomUUID().replaceAll('-', '')}`}, ${workspace.workspaceId}, ${moduleId}, ${seed.sql.json({ body: letters(MAX_RECORD_DATA_BYTES - 20) })})`;
      }
    } finally {
      await seed.close();
    }
  }, 120_000);
  afterAll(async () => {
    await running?.close(1_000);
    await database?.close();
  });

  it('answers a query cut by the timeout with 503 service_unavailable and Retry-After, not a 500', async () => {
    // Every record holds every trigram of "zzzz": the database must read all 20 MB to answer.
    const search = await call(server, 'GET', `/modules/${moduleId}/records?search=zzzz&limit=100`);
    expect(search.status).toBe(503);
    expect(search.body).toMatchObject({ error: 'service_unavailable', retry_after: 1 });
    expect(search.body.request_id).toBe(search.headers.get('x-request-id'));
    expect(search.headers.get('retry-after')).toBe('1');
    // The connection is fine afterwards: cheap requests still answer.
    expect((await call(server, 'GET', '/modules')).status).toBe(200);
  });
});
