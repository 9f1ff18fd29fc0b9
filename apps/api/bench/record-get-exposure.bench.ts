/**
 * What folding the module's exposure into a record get costs the database: the get's statement
 * before exposure per module (the record alone) against the one it sends now (the module's
 * api_enabled and api_methods joined to the record), and against the other way to check it (a
 * separate module lookup, then the record: two round trips). Sequential statements on one
 * connection, interleaved rounds, medians. Needs a PostgreSQL server; it creates and drops its own
 * database there (without DATABASE_URL it says so and measures nothing):
 *
 *   DATABASE_URL=postgres://… npx tsx bench/record-get-exposure.bench.ts [statements per round, default 2000]
 */
import { connect, migrate } from '@charter/db';

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) {
  console.log('record-get-exposure: skipped, set DATABASE_URL to a PostgreSQL server.');
  process.exit(0);
}
const perRound = Number(process.argv[2] ?? 2_000);
const rounds = 8;
const databaseUrl = new URL(serverUrl);
databaseUrl.pathname = '/charter_exposure_bench';

const admin = await connect({ databaseUrl: serverUrl, max: 1, fastPool: false });
await admin.sql.unsafe('drop database if exists charter_exposure_bench');
await admin.sql.unsafe('create database charter_exposure_bench');
const db = await connect({ databaseUrl: databaseUrl.toString(), max: 1, fastPool: false });
try {
  const { sql } = db;
  await migrate(sql);
  await sql`insert into workspaces (id, name) values ('ws_bench', 'Bench')`;
  await sql`insert into modules (id, workspace_id, name) select 'mod_' || g, 'ws_bench', 'M' || g from generate_series(1, 100) g`;
  await sql`
    insert into records (id, workspace_id, module_id, data)
    select 'rec_' || g, 'ws_bench', 'mod_' || (g % 100 + 1), jsonb_build_object('email', 'user' || g || '@example.com')
    from generate_series(1, 50000) g`;
  await sql`analyze`;
  const pick = (i: number) => ({ record: `rec_${(i * 7919) % 50000 + 1}`, module: `mod_${((i * 7919) % 50000 + 1) % 100 + 1}` });

  const variants: Record<string, (i: number) => Promise<unknown>> = {
    'record alone (before)': (i) => {
      const { record, module } = pick(i);
      return sql`select id, module_id, data, created_at, updated_at from records
                 where id = ${record} and module_id = ${module} and workspace_id = 'ws_bench'`;
    },
    'exposure joined (now)': (i) => {
      const { record, module } = pick(i);
      return sql`select m.api_enabled, m.api_methods, r.id, r.module_id, r.data, r.created_at, r.updated_at
                 from modules m
                 left join records r on r.id = ${record} and r.module_id = m.id and r.workspace_id = m.workspace_id
                 where m.id = ${module} and m.workspace_id = 'ws_bench'`;
    },
    'module lookup, then record': async (i) => {
      const { record, module } = pick(i);
      await sql`select id, api_enabled, api_methods from modules where id = ${module} and workspace_id = 'ws_bench'`;
      return sql`select id, module_id, data, created_at, updated_at from records
                 where id = ${record} and module_id = ${module} and workspace_id = 'ws_bench'`;
    },
  };
  const timings: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  // A warm-up round, then interleaved rounds, so that the machine's noise falls on every variant alike.
  const entries = Object.entries(variants);
  for (let round = 0; round <= rounds; round++) {
    // Each round starts with another variant: the order itself favours some (caches, JIT).
    for (const [name, run] of [...entries.slice(round % entries.length), ...entries.slice(0, round % entries.length)]) {
      const started = performance.now();
      for (let i = 0; i < perRound; i++) await run(round * perRound + i);
      if (round > 0) timings[name]?.push(((performance.now() - started) * 1000) / perRound);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const base = median(timings['record alone (before)'] ?? []);
  console.log(`| record get, ${perRound} sequential per round, median of ${rounds} rounds | µs per get | × before |`);
  console.log('|---|---|---|');
  for (const [name, values] of Object.entries(timings)) {
    console.log(`| ${name} | ${median(values).toFixed(0)} | ${(median(values) / base).toFixed(2)} |`);
  }
} finally {
  await db.close();
  await admin.sql.unsafe('drop database if exists charter_exposure_bench');
  await admin.close();
}
