import { describe, expect, it } from 'vitest';
import { connect } from './connect.ts';
import { migrate } from './migrate.ts';

describe('migrations', () => {
  it('apply once, are recorded, and are a no-op the second time', async () => {
    const database = await connect({ databaseUrl: process.env.DATABASE_URL });
    try {
      const first = await migrate(database.sql);
      const second = await migrate(database.sql);
      expect(second.applied).toEqual([]);
      const recorded = await database.sql<{ version: string }[]>`select version from schema_migrations order by version`;
      expect(recorded.map((row) => row.version)).toEqual(expect.arrayContaining(['0001_init', ...first.applied]));
      const [tables] = await database.sql<{ n: number }[]>`
        select count(*)::int as n from information_schema.tables
        where table_name in ('workspaces', 'api_keys', 'modules', 'records')`;
      expect(tables?.n).toBe(4);
    } finally {
      await database.close();
    }
  });

  // Needs a PostgreSQL server: the embedded PGlite has a single session. When skipped, the name says why.
  const needs = process.env.DATABASE_URL ? '' : ' (skipped: needs a PostgreSQL server; set DATABASE_URL)';
  it.skipIf(!process.env.DATABASE_URL)(`migrate concurrently from several connections without applying anything twice${needs}`, async () => {
    const databases = await Promise.all([1, 2, 3].map(() => connect({ databaseUrl: process.env.DATABASE_URL, max: 1 })));
    try {
      const results = await Promise.all(databases.map((database) => migrate(database.sql)));
      const all = results.flatMap((result) => result.applied);
      expect(new Set(all).size).toBe(all.length);
    } finally {
      await Promise.all(databases.map((database) => database.close()));
    }
  });

  // Needs a PostgreSQL server: PGlite ignores statement_timeout.
  it.skipIf(!process.env.DATABASE_URL)(`are not cut by the statement timeout requests run under${needs}`, async () => {
    const admin = await connect({ databaseUrl: process.env.DATABASE_URL, max: 1 });
    const name = `charter_migrate_${process.pid}_${Date.now()}`;
    await admin.sql.unsafe(`create database ${name}`);
    const url = new URL(process.env.DATABASE_URL as string);
    url.pathname = `/${name}`;
    const database = await connect({ databaseUrl: url.toString(), max: 1, statementTimeoutMs: 200 });
    try {
      await expect(database.sql`select pg_sleep(0.5)`).rejects.toMatchObject({ code: '57014' });
      // 1 ms on the pool's one connection: far less than creating the schema and its indexes takes.
      await database.sql`set statement_timeout = 1`;
      const result = await migrate(database.sql);
      expect(result.applied).toContain('0003_search_index_record_size');
    } finally {
      await database.close();
      await admin.sql.unsafe(`drop database ${name}`);
      await admin.close();
    }
  });
});
