import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connect } from './connect.ts';
import { migrate } from './migrate.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

describe('migration 0005 (record counts)', () => {
  it('counts the records a database already holds when it is applied', async () => {
    // A fresh embedded database, brought to the schema before 0005 by hand, as a deployment was.
    const database = await connect({});
    try {
      await database.sql`create table schema_migrations (version text primary key, applied_at timestamptz not null default now())`;
      const before = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql') && name < '0005').sort();
      for (const file of before) {
        await database.sql.unsafe(await readFile(MIGRATIONS_DIR + file, 'utf8'));
        await database.sql`insert into schema_migrations (version) values (${file.replace(/\.sql$/, '')})`;
      }
      await database.sql`insert into workspaces (id, name) values ('w', 'W')`;
      await database.sql`insert into modules (id, workspace_id, name) values ('a', 'w', 'A'), ('b', 'w', 'B'), ('empty', 'w', 'Empty')`;
      await database.sql`
        insert into records (id, workspace_id, module_id, data)
        select 'r' || g, 'w', case when g <= 30 then 'a' else 'b' end, '{}' from generate_series(1, 42) as g`;

      expect((await migrate(database.sql)).applied).toContain('0005_record_counts');
      const kept = await database.sql<{ module_id: string; total: number }[]>`
        select module_id, sum(count)::int as total from record_counts group by module_id order by module_id`;
      expect(kept).toEqual([
        { module_id: 'a', total: 30 },
        { module_id: 'b', total: 12 },
      ]);
      // From then on the triggers keep them.
      await database.sql`insert into records (id, workspace_id, module_id, data) values ('r43', 'w', 'empty', '{}')`;
      await database.sql`delete from records where id in ('r1', 'r2')`;
      const after = await database.sql<{ module_id: string; total: number }[]>`
        select module_id, sum(count)::int as total from record_counts group by module_id order by module_id`;
      expect(after).toEqual([
        { module_id: 'a', total: 28 },
        { module_id: 'b', total: 12 },
        { module_id: 'empty', total: 1 },
      ]);
    } finally {
      await database.close();
    }
  });
});
