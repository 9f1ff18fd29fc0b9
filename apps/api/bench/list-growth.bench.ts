/**
 * Whether a list page costs the same on a large module as on a small one: one module with 1,000
 * records and one with 100,000, `GET /modules/{id}/records?limit=25` on each (and the same with a
 * filter matching a quarter of each), side by side in interleaved rounds against one Charter
 * server process. Needs a PostgreSQL server; without DATABASE_URL it says so and does nothing.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/list-growth.bench.ts
 *
 * Settings (environment): BENCH_DURATION (s per measurement, default 10), BENCH_CONNECTIONS (10),
 * BENCH_WARMUP (s per route, 2), BENCH_ROUNDS (3), BENCH_SMALL (1000), BENCH_LARGE (100000).
 * The bench makes its own workspace and deletes it, with everything in it, when it stops.
 */
import { connect, migrate } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { startChild, stopAllChildren } from './lib/child.ts';
import { pinLoadGenerator } from './lib/cpu.ts';
import { stopLoad } from './lib/load.ts';
import { loadChild, type Round, runRounds, startWatchdog } from './lib/rounds.ts';
import { setting } from './lib/settings.ts';
import { median } from './lib/stats.ts';
import { formatCount, formatMs, formatRatio, formatTable, LATENCY_COLUMNS, latencyCells, RATE_COLUMNS, rateCells } from './lib/table.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.log('list-growth: skipped, it needs a PostgreSQL server (set DATABASE_URL).');
  process.exit(0);
}
const settings = {
  durationSeconds: setting('BENCH_DURATION', 10, 1),
  connections: setting('BENCH_CONNECTIONS', 10, 1),
  warmupSeconds: setting('BENCH_WARMUP', 2, 0),
  rounds: setting('BENCH_ROUNDS', 3, 1),
  small: setting('BENCH_SMALL', 1_000, 1),
  large: setting('BENCH_LARGE', 100_000, 1),
};
const PAGE = 25;

const progress = (message: string) => process.stderr.write(`[list-growth] ${message}\n`);

// Bounded however the run goes: seeding, the rounds, and the cleanup.
const budgetMs = (60 + settings.rounds * 4 * (settings.durationSeconds + 5) + 4 * (settings.warmupSeconds + 5) + 120) * 1_000;
startWatchdog(budgetMs, progress);

const pinning = pinLoadGenerator();
const database = await connect({ databaseUrl, max: 2, fastPool: false });
await migrate(database.sql);
const { workspaceId, key: firstKey } = await createWorkspace(database.sql, { name: 'List growth bench' });

interface Measurement {
  label: string;
  path: string;
  rounds: Round[];
}

let failed = false;
try {
  const server = await startChild({
    name: 'charter',
    script: new URL('./targets/charter-server.ts', import.meta.url),
    pin: pinning.serverPrefix,
    readyTimeoutMs: 60_000,
  });
  const api = async (method: string, path: string, key: string, body?: unknown) => {
    const response = await fetch(`${server.ready.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  // A key of the top tier, issued through the API, so that no measurement nears a rate limit.
  const key = (await api('POST', '/api-keys', firstKey, { name: 'List growth', scopes: ['*'], tier: 'enterprise' })).key as string;
  const fields = [
    { name: 'title', type: 'string', required: true },
    { name: 'status', type: 'string' },
  ];

  /**
   * A module made through the API, then its records: one through the API, the rest in one SQL
   * statement in the same shape (an ID of the API's form, the same data, increasing created_at)
   * into the real table, so that every trigger and generated column runs as for the API's writes.
   */
  async function seededModule(name: string, records: number): Promise<string> {
    const moduleId = (await api('POST', '/modules', key, { name, fields })).id as string;
    await api('POST', `/modules/${moduleId}/records`, key, { data: { title: 'Record 0', status: 'open' } });
    const prefix = `rec_${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;
    await database.sql`
      insert into records (id, workspace_id, module_id, data, created_at, updated_at)
      select ${prefix} || lpad(g::text, 20, '0'), ${workspaceId}, ${moduleId},
             jsonb_build_object('title', 'Record ' || g, 'status', case when g % 4 = 0 then 'open' else 'closed' end),
             now() - (${records} - g) * interval '1 millisecond', now() - (${records} - g) * interval '1 millisecond'
      from generate_series(1, ${records - 1}) as g`;
    const [counts] = await database.sql<{ rows: number; kept: number }[]>`
      select (select count(*)::int from records where module_id = ${moduleId}) as rows,
             (select coalesce(sum(count), 0)::int from record_counts where module_id = ${moduleId}) as kept`;
    if (counts?.rows !== records || counts.kept !== records) {
      throw new Error(`module ${name}: ${counts?.rows} records and a kept count of ${counts?.kept}, expected ${records}`);
    }
    return moduleId;
  }

  progress(`seeding ${formatCount(settings.small)} and ${formatCount(settings.large)} records`);
  const small = await seededModule('Small', settings.small);
  const large = await seededModule('Large', settings.large);
  // As autovacuum would by the time a table has grown this much.
  await database.sql`vacuum analyze records`;

  const measurements: Measurement[] = [
    { label: `${formatCount(settings.small)} records`, path: `/api/v1/modules/${small}/records?limit=${PAGE}`, rounds: [] },
    { label: `${formatCount(settings.large)} records`, path: `/api/v1/modules/${large}/records?limit=${PAGE}`, rounds: [] },
    { label: `${formatCount(settings.small)} records, filter=status:open`, path: `/api/v1/modules/${small}/records?limit=${PAGE}&filter=status:open`, rounds: [] },
    { label: `${formatCount(settings.large)} records, filter=status:open`, path: `/api/v1/modules/${large}/records?limit=${PAGE}&filter=status:open`, rounds: [] },
  ];
  for (const measurement of measurements) {
    const page = await api('GET', measurement.path.slice('/api/v1'.length), key);
    progress(`${measurement.label}: total ${page.total}, ${(page.data as unknown[]).length} on the first page`);
  }
  await runRounds(measurements, {
    ...settings,
    progress,
    measure: (measurement, durationSeconds) =>
      loadChild(server, { url: new URL(measurement.path, server.ready.url).href, headers: { authorization: `Bearer ${key}` }, connections: settings.connections, durationSeconds }),
  });
  await server.stop();

  const summary = (measurement: Measurement) => ({
    rps: median(measurement.rounds.map((sample) => sample.requestsPerSecond)),
    p50: median(measurement.rounds.map((sample) => sample.latencyP50Ms)),
    p99: median(measurement.rounds.map((sample) => sample.latencyP99Ms)),
    bad: measurement.rounds.reduce((sum, sample) => sum + sample.non2xx + sample.errors, 0),
  });
  const rows = measurements.map((measurement) => {
    const { bad } = summary(measurement);
    if (bad > 0) failed = true;
    return [`GET …/records?limit=${PAGE}, ${measurement.label}`, ...rateCells(measurement.rounds), ...latencyCells(measurement.rounds), String(bad)];
  });
  const ratio = (smallIndex: number, largeIndex: number) => {
    const a = summary(measurements[smallIndex] as Measurement);
    const b = summary(measurements[largeIndex] as Measurement);
    return `${formatRatio(a.rps / b.rps)} × (p50 ${formatMs(a.p50)} → ${formatMs(b.p50)} ms)`;
  };
  console.log(`List growth: one module of ${formatCount(settings.small)} records beside one of ${formatCount(settings.large)}`);
  console.log(`Database:  ${server.ready.facts?.database ?? '?'}`);
  console.log(`Pinning:   ${pinning.description}`);
  console.log(
    `Load:      autocannon, ${settings.connections} connections, ${settings.durationSeconds} s per measurement, ${settings.rounds} interleaved round(s) after a ${settings.warmupSeconds} s warm-up each; req/s, p50 and p99 are medians of the rounds\n`,
  );
  console.log(
    formatTable(
      [
        { title: 'request' },
        ...RATE_COLUMNS,
        ...LATENCY_COLUMNS,
        { title: 'non-2xx + errors', align: 'right' },
      ],
      rows,
    ),
  );
  console.log(`\nSlowdown, small ÷ large req/s: unfiltered ${ratio(0, 1)}; filtered ${ratio(2, 3)}.`);
} catch (error) {
  failed = true;
  progress(error instanceof Error ? (error.stack ?? error.message) : String(error));
} finally {
  stopLoad();
  await stopAllChildren();
  progress('deleting the workspace');
  await database.sql`delete from workspaces where id = ${workspaceId}`.catch(() => {});
  await database.close();
}
process.exit(failed ? 1 : 0);
