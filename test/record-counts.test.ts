import { connect } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

/**
 * An unfiltered record list's total comes from per-module counters that triggers keep with the
 * records (migration 0005). Whatever writes the records, the counters and the total must equal
 * what counting the rows gives.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** A prefix for ids seeded in SQL: unique to the run, as ids of the API's own form (26 characters after `rec_`). */
const seedPrefix = () => `rec_${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;

async function counted(moduleId: string): Promise<{ rows: number; kept: number; shards: number }> {
  const [row] = await server.database.sql<{ rows: number; kept: number; shards: number }[]>`
    select (select count(*)::int from records where module_id = ${moduleId}) as rows,
           (select coalesce(sum(count), 0)::int from record_counts where module_id = ${moduleId}) as kept,
           (select count(*)::int from record_counts where module_id = ${moduleId}) as shards`;
  return row!;
}

async function listTotal(moduleId: string): Promise<number> {
  const page = await call(server, 'GET', `/modules/${moduleId}/records?limit=1`);
  expect(page.status, page.text).toBe(200);
  return page.body.total;
}

describe('the kept record count', () => {
  it('stays exact through creates, deletes and bulk writes', async () => {
    const module = await createModule(server, [{ name: 'n', type: 'number' }]);
    const ids: string[] = [];
    for (let n = 0; n < 12; n++) {
      const created = await call(server, 'POST', `/modules/${module.id}/records`, { body: { data: { n } } });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    expect(await listTotal(module.id)).toBe(12);
    for (const id of ids.slice(0, 5)) expect((await call(server, 'DELETE', `/modules/${module.id}/records/${id}`)).status).toBe(204);
    // A delete that finds nothing changes nothing.
    expect((await call(server, 'DELETE', `/modules/${module.id}/records/${ids[0]}`)).status).toBe(404);
    expect(await listTotal(module.id)).toBe(7);

    // Many rows in one statement, and a delete of many, as a bulk import or a cleanup would do.
    const bulk = seedPrefix();
    await server.database.sql`
      insert into records (id, workspace_id, module_id, data)
      select ${bulk} || lpad(g::text, 20, '0'), ${server.workspaceId}, ${module.id}, jsonb_build_object('n', g)
      from generate_series(1, 500) as g`;
    await server.database.sql`delete from records where module_id = ${module.id} and id like ${`${bulk}%`} and (data->>'n')::int % 5 = 0`;
    expect(await listTotal(module.id)).toBe(407);
    expect(await counted(module.id)).toMatchObject({ rows: 407, kept: 407 });

    // A filtered list counts its matches: the same answer as before the counters.
    // n = 7: the API's record and the bulk one; n = 5: the API's, the bulk one was deleted.
    const seven = await call(server, 'GET', `/modules/${module.id}/records?filter=n:7&limit=1`);
    expect(seven.body.total).toBe(2);
    expect((await call(server, 'GET', `/modules/${module.id}/records?filter=n:5&limit=1`)).body.total).toBe(1);
  });

  it('goes with its module and its workspace, and a record cannot move to another module', async () => {
    const module = await createModule(server, [{ name: 'n', type: 'number' }]);
    const other = await createModule(server, [{ name: 'n', type: 'number' }]);
    const record = await call(server, 'POST', `/modules/${module.id}/records`, { body: { data: { n: 1 } } });
    expect(record.status).toBe(201);
    await expect(server.database.sql`update records set module_id = ${other.id} where id = ${record.body.id}`).rejects.toThrow(
      /cannot move to another module/,
    );
    expect(await counted(module.id)).toMatchObject({ rows: 1, kept: 1 });

    expect((await call(server, 'DELETE', `/modules/${module.id}`)).status).toBe(204);
    expect(await counted(module.id)).toEqual({ rows: 0, kept: 0, shards: 0 });

    // A whole workspace, deleted with everything in it.
    const database = await connect({ databaseUrl: inject('databaseUrl'), max: 1, fastPool: false });
    try {
      const { workspaceId, key } = await createWorkspace(database.sql, { name: 'Doomed' });
      const doomed = { url: server.url, key };
      const doomedModule = await createModule(doomed, [{ name: 'n', type: 'number' }]);
      for (let n = 0; n < 3; n++) expect((await call(doomed, 'POST', `/modules/${doomedModule.id}/records`, { body: { data: { n } } })).status).toBe(201);
      expect(await counted(doomedModule.id)).toMatchObject({ rows: 3, kept: 3 });
      await database.sql`delete from workspaces where id = ${workspaceId}`;
      expect(await counted(doomedModule.id)).toEqual({ rows: 0, kept: 0, shards: 0 });
    } finally {
      await database.close();
    }
  });
});

describe.skipIf(!onServer)(serverOnly('the kept record count under concurrent writes'), () => {
  it('equals count(*) after concurrent creates and deletes into one module', async () => {
    const module = await createModule(server, [{ name: 'n', type: 'number' }]);
    const path = `/modules/${module.id}/records`;
    const created: string[] = [];
    let deletes = 0;
    // Eight clients at once, each creating records and deleting some of the ones made so far
    // (its own or another's), so that creates and deletes of one module overlap.
    await Promise.all(
      Array.from({ length: 8 }, async (_, client) => {
        for (let n = 0; n < 40; n++) {
          const answer = await call(server, 'POST', path, { body: { data: { n: client * 100 + n } } });
          expect(answer.status, answer.text).toBe(201);
          created.push(answer.body.id);
          if (n % 3 === 2) {
            const victim = created.splice(Math.floor(created.length / 2), 1)[0] as string;
            const gone = await call(server, 'DELETE', `${path}/${victim}`);
            expect(gone.status, gone.text).toBe(204);
            deletes++;
          }
        }
      }),
    );
    // And bulk statements from several connections at once, each its own transaction.
    await Promise.all(
      Array.from({ length: 4 }, () => {
        const batch = seedPrefix();
        return server.database.sql.begin(async (tx) => {
          await tx`
            insert into records (id, workspace_id, module_id, data)
            select ${batch} || lpad(g::text, 20, '0'), ${server.workspaceId}, ${module.id}, jsonb_build_object('n', g)
            from generate_series(1, 250) as g`;
          await tx`delete from records where module_id = ${module.id} and id like ${`${batch}%`} and (data->>'n')::int % 2 = 0`;
        });
      }),
    );
    const expected = 8 * 40 - deletes + 4 * 125;
    const kept = await counted(module.id);
    expect(kept).toMatchObject({ rows: expected, kept: expected });
    // Spread over several counter rows, so that concurrent creates did not queue on one.
    expect(kept.shards).toBeGreaterThan(1);
    expect(await listTotal(module.id)).toBe(expected);
  });
});
