import { describe, expect, it } from 'vitest';
import { connect } from './connect.ts';

// Needs a PostgreSQL server: PGlite ignores statement_timeout.
const needs = process.env.DATABASE_URL ? '' : ' (skipped: needs a PostgreSQL server; set DATABASE_URL)';
describe.skipIf(!process.env.DATABASE_URL)(`a statement cut by the timeout after sending rows${needs}`, () => {
  it('leaves the next query on its connection a clean result (patches/postgres@3.4.9.patch)', async () => {
    const database = await connect({ databaseUrl: process.env.DATABASE_URL, max: 1, fastPool: false, statementTimeoutMs: 100 });
    try {
      // Rows of 20 kB leave the server one by one, so some arrive before the timeout cuts the statement.
      const slow = database.sql`select ${'x'.repeat(20_000)}::text as pad, pg_sleep(0.01) from generate_series(1, 100)`;
      const next = database.sql`select 42 as answer`;
      await expect(slow).rejects.toMatchObject({ code: '57014' });
      // Unpatched, postgres.js 3.4.9 kept counting rows from the failed statement: `[<holes>, { answer: 42 }]`.
      expect([...(await next)]).toEqual([{ answer: 42 }]);
    } finally {
      await database.close();
    }
  });
});
