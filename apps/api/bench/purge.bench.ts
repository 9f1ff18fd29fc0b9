/**
 * How long the retention purge takes on a backlog, and how long one batch (the longest any rows
 * stay locked) takes: expired access-log rows, and as many finished webhook deliveries (a quarter
 * of the backlog, each with two attempts and its event) beside live ones it must leave. Needs a
 * PostgreSQL server; it creates and drops its own database there:
 *
 *   DATABASE_URL=postgres://… npx tsx bench/purge.bench.ts [backlog rows, default 200000]
 */
import { connect, migrate } from '@charter/db';
import { createWorkspace, purgeExpired, resolveRetention } from '@charter/server';

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
  // Webhook data: a quarter of the backlog in finished deliveries of 40 days ago (two attempts
  // each, one event each), and 1,000 deliveries still retrying since then, which must stay.
  const { workspaceId } = await createWorkspace(db.sql, { name: 'Purge bench' });
  await db.sql`insert into webhook_endpoints (id, workspace_id, url, events) values ('whk_bench', ${workspaceId}, 'https://example.com/hooks', '{*}')`;
  const deliveries = Math.floor(backlog / 4);
  await db.sql`
    insert into webhook_events (id, workspace_id, type, data, created_at)
    select 'evt_' || g, ${workspaceId}, 'record.created', '{}', now() - interval '40 days' from generate_series(1, ${deliveries + 1000}) g`;
  await db.sql`
    insert into webhook_deliveries (id, event_id, endpoint_id, event_type, status, attempt, next_attempt_at, created_at, updated_at)
    select 'dlv_' || g, 'evt_' || g, 'whk_bench', 'record.created',
      case when g > ${deliveries} then 'retrying' when g % 2 = 0 then 'success' else 'failed' end, 2,
      case when g > ${deliveries} then now() + interval '1 hour' end, now() - interval '40 days', now() - interval '40 days'
    from generate_series(1, ${deliveries + 1000}) g`;
  await db.sql`
    insert into webhook_attempts (delivery_id, attempt, status_code, response_time_ms, attempted_at)
    select 'dlv_' || g, a, 500, 1, now() - interval '40 days' from generate_series(1, ${deliveries + 1000}) g, generate_series(1, 2) a`;
  await db.sql`analyze webhook_events`;
  await db.sql`analyze webhook_deliveries`;
  await db.sql`analyze webhook_attempts`;
  const webhookStarted = performance.now();
  const webhookCounts = await purgeExpired(db.sql, resolveRetention());
  const webhookMs = performance.now() - webhookStarted;
  await insertOld(5_000, 'again');
  const batchStarted = performance.now();
  const batch = await purgeExpired(db.sql, resolveRetention());
  const batchMs = performance.now() - batchStarted;
  const [left] = await db.sql<{ n: number }[]>`select count(*)::int as n from access_logs`;
  const [live] = await db.sql<{ deliveries: number; attempts: number; events: number }[]>`
    select (select count(*)::int from webhook_deliveries) as deliveries, (select count(*)::int from webhook_attempts) as attempts,
           (select count(*)::int from webhook_events) as events`;
  console.log(
    `purged ${counts.access_logs} expired access-log rows in ${Math.round(totalMs)} ms (batches of 5,000); then ` +
      `${webhookCounts.webhook_deliveries} finished webhook deliveries with ${webhookCounts.webhook_attempts} attempts and ` +
      `${webhookCounts.webhook_events} events in ${Math.round(webhookMs)} ms (${(webhookMs / totalMs).toFixed(2)}× the access-log purge); a run over one full batch (${batch.access_logs} rows): ${Math.round(batchMs)} ms; rows within retention left: ${left?.n}; ` +
      `retrying deliveries left: ${live?.deliveries} (with ${live?.attempts} attempts and ${live?.events} events)`,
  );
  if (live?.deliveries !== 1000 || live.attempts !== 2000 || live.events !== 1000) throw new Error('the purge touched live webhook deliveries');
} finally {
  await db.close();
  await admin.sql.unsafe('drop database if exists charter_purge_bench');
  await admin.close();
}
