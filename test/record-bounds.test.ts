import { MAX_RECORD_DATA_BYTES, MAX_RECORD_PAGE_BYTES } from '@charter/contracts';
import { connect, type Database } from '@charter/db';
import { createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { letters } from './support/data.ts';
import { call, createModule } from './support/server.ts';

/** A record's data whose JSON is exactly `bytes` long. */
const dataOfSize = (bytes: number) => ({ body: letters(bytes - '{"body":""}'.length) });

describe('bounds on record size and page bytes, and the indexed search', () => {
  let database: Database;
  let running: RunningServer;
  let server: { url: string; key: string };
  let workspaceId: string;
  const statements: { query: string; parameters: readonly unknown[] }[] = [];

  beforeAll(async () => {
    const kind = inject('databaseKind');
    database = await connect({
      databaseUrl: inject('databaseUrl'),
      max: kind === 'pglite' ? 1 : 4,
      fastPool: kind !== 'pglite',
      onQuery: (_pool, query, parameters) => statements.push({ query, parameters }),
    });
    running = await listen(createApp({ sql: database.sql, fastSql: database.fastSql, logError: () => {}, addressLimitPerMinute: 1_000_000 }), 0);
    const workspace = await createWorkspace(database.sql, { name: 'Bounds' });
    server = { url: running.url, key: workspace.key };
    workspaceId = workspace.workspaceId;
  });
  afterAll(async () => {
    await running?.close(1_000);
    await database?.close();
  });

  it('refuses record data beyond the documented maximum on create and on update, with a 422 naming data', async () => {
    const module = await createModule(server, [{ name: 'body', type: 'string' }]);
    const path = `/modules/${module.id}/records`;
    const largest = await call(server, 'POST', path, { body: { data: dataOfSize(MAX_RECORD_DATA_BYTES) } });
    expect(largest.status).toBe(201);
    const over = await call(server, 'POST', path, { body: { data: dataOfSize(MAX_RECORD_DATA_BYTES + 1) } });
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({ error: 'validation_failed', errors: { data: [`The data is ${MAX_RECORD_DATA_BYTES + 1} bytes of JSON; a record holds at most ${MAX_RECORD_DATA_BYTES}.`] } });
    const small = await call(server, 'POST', path, { body: { data: { body: 'small' } } });
    const grown = await call(server, 'PATCH', `${path}/${small.body.id}`, { body: { data: dataOfSize(MAX_RECORD_DATA_BYTES + 1) } });
    expect(grown.status).toBe(422);
    expect(Object.keys(grown.body.errors)).toEqual(['data']);
  });

  it('stops a page of large records before its byte budget, and a cursor walk still visits each record once', async () => {
    const module = await createModule(server, [{ name: 'body', type: 'string' }]);
    const path = `/modules/${module.id}/records`;
    const perPage = Math.floor(MAX_RECORD_PAGE_BYTES / MAX_RECORD_DATA_BYTES);
    const created: string[] = [];
    for (let index = 0; index < perPage + 3; index++) {
      const answer = await call(server, 'POST', path, { body: { data: dataOfSize(MAX_RECORD_DATA_BYTES - 100) } });
      expect(answer.status).toBe(201);
      created.push(answer.body.id);
    }
    const first = await call(server, 'GET', `${path}?limit=100`);
    expect(first.status).toBe(200);
    expect(first.body.data.length).toBeGreaterThanOrEqual(1);
    expect(first.body.data.length).toBeLessThan(perPage + 3);
    expect(first.body).toMatchObject({ has_more: true, total: perPage + 3 });
    expect(first.text.length).toBeLessThan(MAX_RECORD_PAGE_BYTES + 64 * 1024);
    expect(first.headers.get('link')).toContain('cursor=');

    const seen: string[] = first.body.data.map((record: { id: string }) => record.id);
    let cursor: string | null = first.body.next_cursor;
    for (let pages = 0; cursor && pages < created.length; pages++) {
      const next = await call(server, 'GET', `${path}?limit=100&cursor=${encodeURIComponent(cursor)}`);
      expect(next.status).toBe(200);
      expect(next.text.length).toBeLessThan(MAX_RECORD_PAGE_BYTES + 64 * 1024);
      seen.push(...next.body.data.map((record: { id: string }) => record.id));
      cursor = next.body.next_cursor;
    }
    expect(cursor).toBeNull();
    expect([...seen].sort()).toEqual([...created].sort());
  });

  it('searches through the trigram index, keeping the documented semantics', async () => {
    const module = await createModule(server, [
      { name: 'title', type: 'string' },
      { name: 'extra', type: 'json' },
    ]);
    const path = `/modules/${module.id}/records`;
    for (let index = 0; index < 60; index++) {
      const title = index === 7 ? 'The Needle in a haystack' : `hay ${index}`;
      const answer = await call(server, 'POST', path, { body: { data: { title, extra: index === 8 ? 'needle' : null } } });
      expect(answer.status).toBe(201);
    }
    // Enough records that scanning the module costs far more than the index, whatever the rest of
    // the (shared) table holds: the planner's choice must not depend on other tests' data.
    await database.sql`
      insert into records (id, workspace_id, module_id, data)
      select 'rec_fill' || md5(random()::text || n), ${workspaceId}, ${module.id}, jsonb_build_object('title', 'hay filler ' || n)
      from generate_series(1, 3000) as n`;
    statements.length = 0;
    const found = await call(server, 'GET', `${path}?search=nEEdle`);
    expect(found.status).toBe(200);
    // Only the string field counts: the json field holding the same text does not match.
    expect(found.body.data.map((record: { data: { title: string } }) => record.data.title)).toEqual(['The Needle in a haystack']);
    expect(found.body.total).toBe(1);

    // The page and its total are one statement.
    const page = statements.find(({ query }) => query.includes('record_search_text'));
    expect(page, 'the list query filters through record_search_text').toBeDefined();
    // The planner needs the table's statistics to weigh the index (autovacuum gathers them on a server).
    await database.sql`analyze records`;
    const plan = await database.sql.unsafe(`explain ${page!.query}`, page!.parameters as never[]);
    const text = plan.map((row) => String(row['QUERY PLAN'])).join('\n');
    expect(text).toContain('records_search_idx');
  });
});
