/**
 * One hot key against 50 keys, through four API processes sharing one PostgreSQL server: `GET
 * /modules` at the same load, side by side in interleaved rounds, with req/s for both, their
 * ratio, and the rate-limit counter's writes per admitted request (from PostgreSQL's own table
 * statistics). With `BENCH_BASELINE_API` naming another checkout's `apps/api` (for example the
 * code before a change), its four processes are measured in the same rounds, for before/after
 * figures from one run. README.md next to this file says more.
 *
 * Settings (environment): DATABASE_URL (required: a PostgreSQL server), BENCH_DURATION (s per
 * measurement, default 8), BENCH_ROUNDS (3), BENCH_CONNECTIONS (48 in all, split over the four
 * processes), BENCH_WARMUP (s, 2), BENCH_BASELINE_API (unset).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, type as osType, release } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Database } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { type LoadSample, runLoad, stopLoad } from './lib/load.ts';
import { median, sum } from './lib/stats.ts';
import { formatCount, formatMs, formatRatio, formatTable } from './lib/table.ts';

const PROCESSES = 4;
const KEYS = 50;
const PATH = '/api/v1/modules?limit=1';
const READY_TIMEOUT_MS = 120_000;

interface Settings {
  durationSeconds: number;
  rounds: number;
  connections: number;
  warmupSeconds: number;
  baseline: string | undefined;
}

function setting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}=${JSON.stringify(raw)}: must be a whole number of at least ${min}`);
  return value;
}

function progress(message: string): void {
  process.stderr.write(`[hot-key] ${message}\n`);
}

const children = new Set<ChildProcess>();

/** Starts `apps/api` (this checkout's, or another's) as `pnpm start` does, and waits until it listens. */
function startApi(apiDir: string, databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  // Requests wait their workspace's turn however long a busy machine takes, instead of getting 503:
  // the bench measures admission, and every answer must be 200.
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    WORKSPACE_MAX_QUEUED: '1000',
    WORKSPACE_QUEUE_TIMEOUT_MS: '120000',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: apiDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`API in ${apiDir} did not start within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolvePromise({ url: match[1]!, child });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`API in ${apiDir} exited with ${code}:\n${output}`));
    });
  });
}

function stopAll(): Promise<void> {
  return Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolvePromise) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
          const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolvePromise();
          });
          child.kill('SIGTERM');
        }),
    ),
  ).then(() => undefined);
}

interface Tally {
  /** Rows written to the counter table so far (inserts + updates), as PostgreSQL's statistics count them. */
  counterWrites: number;
  /** Requests of the bench's workspace admitted so far (answered, and not with 429), from the access log. */
  admitted: number;
}

async function tally(database: Database, workspaceId: string): Promise<Tally> {
  const [row] = await database.sql<{ writes: string; admitted: string }[]>`
    select (select n_tup_ins + n_tup_upd from pg_stat_user_tables where relname = 'rate_limit_counters')::text as writes,
           (select count(*) from access_logs where workspace_id = ${workspaceId} and status <> 429)::text as admitted`;
  return { counterWrites: Number(row?.writes ?? 0), admitted: Number(row?.admitted ?? 0) };
}

/**
 * The tally once everything of the last load has landed: each server process writes its access log
 * every second, gives back unused tokens a moment after its load stops, and its database sessions
 * report their statistics within about a second of going idle. Waits until two readings a second
 * apart agree (at most 15 s).
 */
async function settledTally(database: Database, workspaceId: string): Promise<Tally> {
  let last = await tally(database, workspaceId);
  for (let waited = 0; waited < 15; waited++) {
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 1_000));
    const now = await tally(database, workspaceId);
    if (waited >= 1 && now.counterWrites === last.counterWrites && now.admitted === last.admitted) return now;
    last = now;
  }
  return last;
}

interface Variant {
  name: string;
  apiDir: string;
  urls: string[];
}

interface Workload {
  id: 'hot' | 'spread';
  label: string;
}

const WORKLOADS: Workload[] = [
  { id: 'hot', label: '1 hot key' },
  { id: 'spread', label: `${KEYS} keys` },
];

interface Sample {
  requestsPerSecond: number;
  admitted: number;
  total: number;
  non200: number;
  errors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  writesPerAdmission: number;
  /** Answers other than 200: [status, count]. */
  statuses: [string, number][];
}

/** The same load on every process of a variant at once: req/s is their sum. */
async function measure(
  variant: Variant,
  workload: Workload,
  keys: string[],
  settings: Settings,
  seconds: number,
  database: Database,
  workspaceId: string,
): Promise<Sample> {
  const before = await settledTally(database, workspaceId);
  const perProcess = Math.max(1, Math.round(settings.connections / variant.urls.length));
  const samples: LoadSample[] = await Promise.all(
    variant.urls.map((url) =>
      runLoad({
        url: `${url}${PATH}`,
        headers: { authorization: `Bearer ${keys[0]}` },
        // 50 keys: every process sees every key in turn, as behind a load balancer.
        ...(workload.id === 'spread' ? { keys } : {}),
        connections: perProcess,
        durationSeconds: seconds,
      }),
    ),
  );
  const after = await settledTally(database, workspaceId);
  const admitted = sum(samples.map((sample) => sample.statuses['200'] ?? 0));
  const total = sum(samples.map((sample) => sample.total));
  const statuses = new Map<string, number>();
  for (const sample of samples) for (const [status, count] of Object.entries(sample.statuses)) statuses.set(status, (statuses.get(status) ?? 0) + count);
  return {
    requestsPerSecond: sum(samples.map((sample) => sample.requestsPerSecond)),
    admitted,
    total,
    non200: total - admitted,
    errors: sum(samples.map((sample) => sample.errors)),
    latencyP50Ms: median(samples.map((sample) => sample.latencyP50Ms)),
    latencyP99Ms: Math.max(...samples.map((sample) => sample.latencyP99Ms)),
    statuses: [...statuses].filter(([status]) => status !== '200'),
    // Every request the servers admitted, those still in flight when the load stopped included.
    writesPerAdmission: after.admitted > before.admitted ? (after.counterWrites - before.counterWrites) / (after.admitted - before.admitted) : Number.NaN,
  };
}

async function run(settings: Settings, databaseUrl: string): Promise<number> {
  const here = fileURLToPath(new URL('..', import.meta.url));
  const variants: Variant[] = [{ name: 'this checkout', apiDir: here, urls: [] }];
  if (settings.baseline) variants.push({ name: `baseline (${settings.baseline})`, apiDir: resolve(settings.baseline), urls: [] });

  // One variant at a time: they migrate the same database on their first start.
  for (const variant of variants) {
    progress(`starting ${PROCESSES} API processes from ${variant.apiDir}`);
    variant.urls = (await Promise.all(Array.from({ length: PROCESSES }, () => startApi(variant.apiDir, databaseUrl)))).map((started) => started.url);
  }

  const database = await connect({ databaseUrl, max: 2 });
  const root = await createWorkspace(database.sql, { name: 'Hot-key bench' });
  try {
    const keys: string[] = [];
    for (let i = 0; i < KEYS; i++) {
      const response = await fetch(`${variants[0]!.urls[0]}/api/v1/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${root.key}`, 'content-type': 'application/json' },
        // Enterprise: 200,000 a minute with its burst, far above what any run sends.
        body: JSON.stringify({ name: `bench ${i}`, scopes: ['modules:read'], tier: 'enterprise' }),
      });
      const body = (await response.json()) as { key?: string };
      if (response.status !== 201 || !body.key) throw new Error(`POST /api-keys answered ${response.status}: ${JSON.stringify(body)}`);
      keys.push(body.key);
    }
    for (const variant of variants) {
      for (const url of variant.urls) {
        const check = await fetch(`${url}${PATH}`, { headers: { authorization: `Bearer ${keys[0]}` } });
        if (check.status !== 200) throw new Error(`${variant.name} at ${url} answered ${check.status}: ${await check.text()}`);
      }
    }

    const results = new Map<string, Sample[]>();
    const id = (variant: Variant, workload: Workload) => `${variant.name}\u0000${workload.id}`;
    if (settings.warmupSeconds > 0) {
      for (const variant of variants) {
        progress(`warming up ${variant.name} for ${settings.warmupSeconds} s`);
        await measure(variant, WORKLOADS[0]!, keys, settings, settings.warmupSeconds, database, root.workspaceId);
      }
    }
    for (let round = 1; round <= settings.rounds; round++) {
      // Alternate the order between rounds, so that neither workload always follows the other.
      const order = round % 2 === 1 ? WORKLOADS : [...WORKLOADS].reverse();
      for (const workload of order) {
        for (const variant of variants) {
          progress(`round ${round}/${settings.rounds}: ${variant.name}, ${workload.label}, ${settings.durationSeconds} s`);
          const sample = await measure(variant, workload, keys, settings, settings.durationSeconds, database, root.workspaceId);
          progress(`  ${formatCount(sample.requestsPerSecond)} req/s, ${sample.writesPerAdmission.toFixed(3)} counter writes per admission`);
          results.set(id(variant, workload), [...(results.get(id(variant, workload)) ?? []), sample]);
        }
      }
    }

    const rps = (variant: Variant, workload: Workload) => median((results.get(id(variant, workload)) ?? []).map((sample) => sample.requestsPerSecond));
    const wpa = (variant: Variant, workload: Workload) => median((results.get(id(variant, workload)) ?? []).map((sample) => sample.writesPerAdmission));
    const processors = cpus();
    const lines = [
      '',
      `Route:     GET ${PATH} through ${PROCESSES} API processes (apps/api, src/main.ts; workspace queue without timeout) on one PostgreSQL server`,
      `Keys:      one hot key, or ${KEYS} keys of the same workspace in turn on every process (tier enterprise: no request is refused)`,
      `Machine:   ${processors.length} cores (${processors[0]?.model.trim() ?? 'unknown CPU'}), ${osType()} ${release()}, Node ${process.version}; nothing pinned`,
      `Load:      autocannon, ${settings.connections} connections in all (${Math.round(settings.connections / PROCESSES)} per process), ${settings.durationSeconds} s per measurement, ` +
        `${settings.rounds} interleaved rounds after a ${settings.warmupSeconds} s warm-up; figures are medians of the rounds`,
      'Counter writes per admission: rows inserted or updated in rate_limit_counters (pg_stat_user_tables) ÷ requests admitted (access log).',
      '',
      formatTable(
        [
          { title: 'code' },
          { title: 'keys' },
          { title: 'req/s', align: 'right' },
          { title: 'each round', align: 'right' },
          { title: 'counter writes / admission', align: 'right' },
          { title: 'p50 ms', align: 'right' },
          { title: 'p99 ms', align: 'right' },
          { title: 'non-200', align: 'right' },
          { title: 'errors', align: 'right' },
        ],
        variants.flatMap((variant) =>
          WORKLOADS.map((workload) => {
            const samples = results.get(id(variant, workload)) ?? [];
            return [
              variant.name,
              workload.label,
              formatCount(rps(variant, workload)),
              samples.map((sample) => formatCount(sample.requestsPerSecond)).join(' / '),
              wpa(variant, workload).toFixed(3),
              formatMs(median(samples.map((sample) => sample.latencyP50Ms))),
              formatMs(median(samples.map((sample) => sample.latencyP99Ms))),
              formatCount(sum(samples.map((sample) => sample.non200))),
              formatCount(sum(samples.map((sample) => sample.errors))),
            ];
          }),
        ),
      ),
      '',
      ...variants.map(
        (variant) =>
          `${variant.name}: hot key ÷ ${KEYS} keys = ${formatRatio(rps(variant, WORKLOADS[0]!) / rps(variant, WORKLOADS[1]!))} ` +
          `(${formatCount(rps(variant, WORKLOADS[0]!))} vs ${formatCount(rps(variant, WORKLOADS[1]!))} req/s)`,
      ),
      ...(variants.length > 1
        ? WORKLOADS.map(
            (workload) =>
              `${workload.label}: this checkout ÷ baseline = ${formatRatio(rps(variants[0]!, workload) / rps(variants[1]!, workload))} ` +
              `(${formatCount(rps(variants[0]!, workload))} vs ${formatCount(rps(variants[1]!, workload))} req/s)`,
          )
        : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    const problems = [...results].flatMap(([key, samples]) => {
      const [name, workload] = key.split('\u0000');
      const non200 = sum(samples.map((sample) => sample.non200));
      const errors = sum(samples.map((sample) => sample.errors));
      const byStatus = new Map<string, number>();
      for (const sample of samples) for (const [status, count] of sample.statuses) byStatus.set(status, (byStatus.get(status) ?? 0) + count);
      const statuses = [...byStatus].map(([status, count]) => `${count} × ${status}`).join(', ');
      return non200 + errors > 0 ? [`${name}, ${workload}: ${non200} answers other than 200 (${statuses}), ${errors} connection errors or timeouts`] : [];
    });
    for (const problem of problems) process.stdout.write(`FAILED: ${problem}\n`);
    return problems.length > 0 ? 1 : 0;
  } finally {
    await database.sql`delete from workspaces where id = ${root.workspaceId}`.catch(() => {});
    await database.close();
  }
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    progress('skipped: four API processes need a shared PostgreSQL server (set DATABASE_URL)');
    return;
  }
  const settings: Settings = {
    durationSeconds: setting('BENCH_DURATION', 8, 1),
    rounds: setting('BENCH_ROUNDS', 3, 1),
    connections: setting('BENCH_CONNECTIONS', 48, PROCESSES),
    warmupSeconds: setting('BENCH_WARMUP', 2, 0),
    baseline: process.env.BENCH_BASELINE_API || undefined,
  };
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    stopLoad();
    void stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever hangs, the bench ends by itself.
  const variants = settings.baseline ? 2 : 1;
  const budgetMs = READY_TIMEOUT_MS + 60_000 + variants * (settings.warmupSeconds + 25 + settings.rounds * WORKLOADS.length * (settings.durationSeconds + 25)) * 1_000;
  setTimeout(() => {
    progress(`did not finish within ${Math.round(budgetMs / 1_000)} s: giving up`);
    stopLoad();
    void stopAll().finally(() => process.exit(1));
  }, budgetMs).unref();

  let code = 1;
  try {
    code = await run(settings, databaseUrl);
  } catch (error) {
    progress(interrupted ? 'interrupted' : `failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  await stopAll();
  process.exit(code);
}

await main();
