import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** Seeds `count` records straight into the table, with many creation-time ties so that the id tie-break matters. */
async function seed(moduleId: string, count: number): Promise<string[]> {
  const batch = Math.random().toString(36).slice(2, 8).padEnd(6, '0');
  const rows = await server.database.sql<{ id: string }[]>`
    insert into records (id, workspace_id, module_id, data, created_at, updated_at)
    select 'rec_' || ${batch} || lpad(i::text, 20, '0'), ${server.workspaceId}, ${moduleId},
           jsonb_build_object('n', i), now() - ((i % 97) * interval '1 millisecond'), now()
    from generate_series(1, ${count}) as i
    returning id`;
  return rows.map((row) => row.id);
}

describe('a cursor walk while other clients insert and delete', () => {
  for (const sort of ['-created_at', 'created_at']) {
    it(`visits every surviving original record exactly once (sort=${sort})`, async () => {
      const moduleId = (await createModule(server, [{ name: 'n', type: 'number' }])).id;
      const originals = await seed(moduleId, 1000);
      const deleted = new Set<string>();
      let walking = true;
      let writes = 0;

      // Another client: inserts new records and deletes originals (some visited, some not yet) until the walk ends.
      const writer = (async () => {
        let index = 0;
        while (walking) {
          const created = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { n: -1 } } });
          expect(created.status).toBe(201);
          const victim = originals[(index * 7919) % originals.length] as string;
          index++;
          if (!deleted.has(victim)) {
            const gone = await call(server, 'DELETE', `/modules/${moduleId}/records/${victim}`);
            expect(gone.status).toBe(204);
            deleted.add(victim);
          }
          writes++;
        }
      })();

      const visits = new Map<string, number>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `limit=37&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`;
        const page: ApiResponse = await call(server, 'GET', `/modules/${moduleId}/records?${query}`);
        expect(page.status, page.text).toBe(200);
        for (const record of page.body.data as { id: string }[]) visits.set(record.id, (visits.get(record.id) ?? 0) + 1);
        cursor = page.body.next_cursor;
        pages++;
        // Give the writer a turn between pages, so that the walk really interleaves with writes.
        await new Promise((resolve) => setTimeout(resolve, 2));
      } while (cursor);
      walking = false;
      await writer;

      expect(writes).toBeGreaterThan(5);
      expect(deleted.size).toBeGreaterThan(5);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil((1000 - deleted.size) / 37));
      for (const [id, count] of visits) expect(count, id).toBe(1);
      const survivors = originals.filter((id) => !deleted.has(id));
      const missing = survivors.filter((id) => !visits.has(id));
      expect(missing).toEqual([]);
    });
  }
});
