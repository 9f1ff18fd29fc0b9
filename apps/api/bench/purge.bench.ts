/**
 * How long the retention purge takes on a backlog, and how long one batch (the longest any rows
 * stay locked) takes. Needs a PostgreSQL server; it creates and drops its own database there:
 *
 *   DATABASE_URL=postgres://… npx tsx bench/purge.bench.ts [backlog rows, default 200000]
 */
import { connect, migrate } from '@charter/db';
import { purgeExpired, resolveRetention } from '@charter/server';

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('Set DATABASE_URL to a PostgreSQL server.');
const backlog = Number(process.argv[2] ?? 200_000);
const databaseUrl = new URL(serverUrl);
databaseUrl.pathname = '/charter_purge_bench';

const admin = await connect({ databaseUrl: serverUrl, max: 1, fastPool: false });
await admin.sql.unsafe('drop database if exists charter_purge_bench');
await admin.sql.unsafe('create database charter_purge_bench');
const db = await connect({ databaseUrl: databaseUrl.toString(), max: 2, fastPool: false });
try {
  await migrate(db.sql);
  const insertOld = (rows: number, prefix: string) => db.sql`
    insert into access_logs (id, workspace_id, key_id, method, path, status, latency_ms, request_id, created_at)
    select ${prefix} || g, 'wsp', 'key', 'GET', '/api/v1/modules', 200, 1, 'r' || g, now() - interval '40 days' - g * interval '1 second'
    from generate_series(1, ${rows}) g`;
  await insertOld(backlog, 'old');
  // Rows within the default 30 days, which must stay.
  await db.sql`
    insert into access_logs (id, workspace_id, key_id, method, path, status, latency_ms, request_id, created_at)
    select 'new' || g, 'wsp', 'key', 'GET', '/api/v1/modules', 200, 1, 'r' || g, now() - g * interval '1 second'
    from generate_series(1, 10000) g`;
  await db.sql`analyze access_logs`;
  const started = performance.now();
  const counts = await purgeExpired(db.sql, resolveRetention());
  const totalMs = performance.now() - started;
  await insertOld(5_000, 'again');
  const batchStarted = performance.now();
  const batch = await purgeExpired(db.sql, resolveRetention());
  const batchMs = performance.now() - batchStarted;
  const [left] = await db.sql<{ n: number }[]>`select count(*)::int as n from access_logs`;
  console.log(
    `purged ${counts.access_logs} expired access-log rows in ${Math.round(totalMs)} ms ` +
      `(batches of 5,000); a run over one full batch (${batch.access_logs} rows): ${Math.round(batchMs)} ms; rows within retention left: ${left?.n}`,
  );
} finally {
  await db.close();
  await admin.sql.unsafe('drop database if exists charter_purge_bench');
  await admin.close();
}
