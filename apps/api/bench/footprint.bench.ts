/**
 * The API's footprint, against its budgets: start-up to a healthy `/api/v1/health`, the CLI's
 * `create-workspace`, and the server's resident memory (RSS) under load. Everything runs as a user
 * runs it, through the README's commands (`npx -y pnpm@10 start`, `npx -y pnpm@10 cli …`, from the
 * repository root, each its own process tree), on the embedded database in a temporary folder and,
 * when DATABASE_URL is set, on that PostgreSQL server too.
 *
 *   pnpm bench                         (with the other benchmarks), or from apps/api:
 *   node --import tsx bench/footprint.bench.ts
 *
 * BENCH_LOAD_SECONDS (20), BENCH_LOAD_WARMUP (5: the first seconds of the load not counted in the
 * steady figure), BENCH_CONNECTIONS (50), BENCH_CLI_RUNS (3), BENCH_PNPM (`npx -y pnpm@10`).
 * Progress goes to stderr, the report to stdout; the exit status is 1 when anything failed (a
 * start, a CLI call, a non-2xx answer under load), not when a budget is missed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { runLoad, stopLoad } from './lib/load.ts';
import { median } from './lib/stats.ts';
import { formatCount, formatTable } from './lib/table.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_LOAD_WARMUP ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const CLI_RUNS = Number(process.env.BENCH_CLI_RUNS ?? 3);
const PNPM = (process.env.BENCH_PNPM ?? 'npx -y pnpm@10').split(' ');
/** A root script of package.json without npx and pnpm around it (they are plain `node …` commands). */
const ROOT_SCRIPTS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const viaPnpm = (script: string) => [...PNPM, script];
const direct = (script: string) => (ROOT_SCRIPTS[script] as string).split(' ');
const RECORDS = 50;
const SAMPLE_EVERY_MS = 250;
/** Longest any one step may take before the bench gives up on it (a fresh embedded database on a busy machine is slow). */
const STEP_TIMEOUT_MS = 180_000;

/**
 * The server's settings for the run: any free port, and room in its per-workspace queue for every
 * connection of the load (one workspace sends it all; by default all but 16 waiting requests would
 * get a 503, and the figures would be those of refusing).
 */
const SERVER_ENV = { PORT: '0', WORKSPACE_MAX_QUEUED: String(CONNECTIONS), WORKSPACE_QUEUE_TIMEOUT_MS: '30000' };

const BUDGET = { startMs: 3_000, cliMs: 3_000, embeddedRssMb: 300, serverRssMb: 150 };

const log = (line: string) => process.stderr.write(`${line}\n`);
let failed = false;

/** The environment of a user's shell: none of the variables `pnpm bench` itself sets for its scripts. */
function userEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(npm_|PNPM_|INIT_CWD$|NODE_ENV$|DATABASE_URL$)/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

// --- /proc ------------------------------------------------------------------------------------

const ticksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on

function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function groupMembers(groupId: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => Number(procStat(pid)?.[2]) === groupId);
}

/** CPU time (ms) of a process group so far: its live processes, with the children they already reaped. */
function groupCpuMs(groupId: number): number {
  let ticks = 0;
  for (const pid of groupMembers(groupId)) {
    const fields = procStat(pid);
    if (fields) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return (ticks * 1_000) / ticksPerSecond;
}

/** CPU time (ms) of this process's children that have exited and been reaped. */
function reapedChildrenCpuMs(): number {
  const fields = procStat(process.pid) as string[];
  return ((Number(fields[13]) + Number(fields[14])) * 1_000) / ticksPerSecond;
}

/** `VmRSS` or `VmHWM` (the peak) of a process, in MB. */
function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]) / 1024;
}

async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// --- the server, as `pnpm start` runs it ------------------------------------------------------

interface Started {
  url: string;
  /** The node process that serves (the last of npx → pnpm → sh → pnpm → sh → node). */
  serverPid: number;
  startMs: number;
  startCpuMs: number;
  output: () => string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    // Already gone.
  }
}

async function start(env: Record<string, string | undefined>, command = viaPnpm('start')): Promise<Started> {
  const began = performance.now();
  // Its own process group: the whole tree is measured and stopped together.
  const child = spawn(command[0] as string, command.slice(1), { cwd: ROOT, env: userEnv({ ...SERVER_ENV, ...env }), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  const groupId = child.pid as number;
  const stop = async () => {
    if (exited) return;
    killGroup(child, 'SIGTERM');
    // The server finishes in-flight work and closes its database; then the whole group is gone.
    await waitFor('the server to stop', () => (groupMembers(groupId).length === 0 ? true : undefined), 30_000).catch(() => killGroup(child, 'SIGKILL'));
    await waitFor('the process tree to exit', () => (exited ? true : undefined), 10_000).catch(() => {});
  };
  try {
    const url = await waitFor('"listening on" in the output', () => {
      if (exited) throw new Error(`the start command exited:\n${output}`);
      return /listening on (http:\/\/\S+)/.exec(output)?.[1];
    });
    await waitFor('a 200 from /api/v1/health', async () => {
      const response = await fetch(`${url}/api/v1/health`).catch(() => undefined);
      await response?.arrayBuffer();
      return response?.status === 200 ? true : undefined;
    });
    const startMs = performance.now() - began;
    const startCpuMs = groupCpuMs(groupId);
    const serverPid = groupMembers(groupId).find((pid) => {
      const [command, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      // `node scripts/run.mjs main` (the start script), or `node dist/main.js` / `node --import tsx src/main.ts`.
      const runsMain = args.some((arg, index) => /(^|\/)(dist\/main\.js|src\/main\.ts)$/.test(arg) || (/(^|\/)run\.mjs$/.test(arg) && args[index + 1] === 'main'));
      return /(^|\/)node$/.test(command ?? '') && runsMain;
    });
    if (serverPid === undefined) throw new Error('found no process running main.js in the start command’s tree');
    return { url, serverPid, startMs, startCpuMs, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// --- the CLI, as the README runs it -----------------------------------------------------------

interface CliRun {
  ms: number;
  cpuMs: number;
  stdout: string;
}

async function cli(env: Record<string, string | undefined>, name: string, command = viaPnpm('cli')): Promise<CliRun> {
  const cpuBefore = reapedChildrenCpuMs();
  const began = performance.now();
  const child = spawn(command[0] as string, [...command.slice(1), 'create-workspace', '--name', name, '--json'], {
    cwd: ROOT,
    env: userEnv(env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STEP_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  running.delete(child);
  const ms = performance.now() - began;
  if (code !== 0) throw new Error(`the CLI exited with ${code}:\n${stdout}\n${stderr}`);
  return { ms, cpuMs: reapedChildrenCpuMs() - cpuBefore, stdout };
}

function keyFromCli(run: CliRun): { key: string; workspaceId: string } {
  const line = run.stdout.trim().split('\n').findLast((text) => text.startsWith('{')) ?? '';
  const parsed = JSON.parse(line) as { key: string; workspace_id: string };
  return { key: parsed.key, workspaceId: parsed.workspace_id };
}

// --- load and memory --------------------------------------------------------------------------

async function seed(url: string, key: string): Promise<string> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${url}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as { id: string };
  };
  const module = await post('/modules', { name: 'Footprint', fields: [{ name: 'title', type: 'string' }] });
  for (let index = 1; index <= RECORDS; index++) await post(`/modules/${module.id}/records`, { data: { title: `Record ${index}` } });
  return `/api/v1/modules/${module.id}/records?limit=10`;
}

interface UnderLoad {
  idleMb: number;
  steadyMb: number;
  maxSampleMb: number;
  peakMb: number;
  requestsPerSecond: number;
}

async function measureUnderLoad(server: Started, key: string): Promise<UnderLoad> {
  const path = await seed(server.url, key);
  const idleMb = memoryMb(server.serverPid, 'VmRSS');
  const samples: { at: number; mb: number }[] = [];
  const began = performance.now();
  const sampler = setInterval(() => samples.push({ at: performance.now() - began, mb: memoryMb(server.serverPid, 'VmRSS') }), SAMPLE_EVERY_MS);
  const load = await runLoad({ url: `${server.url}${path}`, headers: { authorization: `Bearer ${key}` }, connections: CONNECTIONS, durationSeconds: LOAD_SECONDS }).finally(() =>
    clearInterval(sampler),
  );
  if (load.non2xx > 0 || load.errors > 0) {
    failed = true;
    log(`under load: ${load.non2xx} non-2xx answers (${JSON.stringify(load.statuses)}), ${load.errors} errors`);
  }
  const steady = samples.filter((sample) => sample.at >= WARMUP_SECONDS * 1_000).map((sample) => sample.mb);
  return {
    idleMb,
    steadyMb: median(steady),
    maxSampleMb: Math.max(...samples.map((sample) => sample.mb)),
    peakMb: memoryMb(server.serverPid, 'VmHWM'),
    requestsPerSecond: load.requestsPerSecond,
  };
}

// --- the report -------------------------------------------------------------------------------

type Row = [what: string, value: string, cpu: string, budget: string, verdict: string];

const ms = (value: number) => `${formatCount(value)} ms`;
const mb = (value: number) => `${formatCount(value)} MB`;
const verdict = (value: number, budget: number) => (value <= budget ? 'within' : 'OVER');

function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}\n`);
  console.log(
    formatTable(
      [{ title: 'measure' }, { title: 'value', align: 'right' }, { title: 'CPU (user+sys)', align: 'right' }, { title: 'budget', align: 'right' }, { title: '' }],
      rows,
    ),
  );
}

function cliRows(runs: CliRun[], where: string): Row[] {
  const wall = median(runs.map((run) => run.ms));
  return [
    [
      `CLI create-workspace, ${where} (median of ${runs.length}: ${runs.map((run) => formatCount(run.ms)).join(' / ')} ms)`,
      ms(wall),
      ms(median(runs.map((run) => run.cpuMs))),
      ms(BUDGET.cliMs),
      verdict(wall, BUDGET.cliMs),
    ],
  ];
}

function loadRows(load: UnderLoad, budgetMb: number): Row[] {
  return [
    ['RSS idle after start, data seeded', mb(load.idleMb), '', '', ''],
    [`RSS steady under load (median of samples after ${WARMUP_SECONDS} s)`, mb(load.steadyMb), '', mb(budgetMb), verdict(load.steadyMb, budgetMb)],
    ['RSS highest sample under load', mb(load.maxSampleMb), '', '', ''],
    ["RSS peak over the server's life (VmHWM)", mb(load.peakMb), '', '', ''],
    ['requests per second during the load', formatCount(load.requestsPerSecond), '', '', ''],
  ];
}

async function embedded(): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'charter-footprint-'));
  const env = { CHARTER_DATA_DIR: join(folder, 'pglite') };
  try {
    log('embedded: first start on an empty folder…');
    const fresh = await start(env);
    const key = await waitFor('the first key in the output', () => /^ {2}(sk_live_[0-9A-Za-z]{38})$/m.exec(fresh.output())?.[1]);
    const freshPeakMb = memoryMb(fresh.serverPid, 'VmHWM');
    const freshRssMb = memoryMb(fresh.serverPid, 'VmRSS');
    await fresh.stop();

    log('embedded: start on the existing folder, then load…');
    const again = await start(env);
    const load = await measureUnderLoad(again, key);
    await again.stop();
    log('embedded: start and CLI without npx and pnpm…');
    const bare = await start(env, direct('start'));
    await bare.stop();
    const bareCli = await cli(env, 'Footprint direct', direct('cli'));

    const runs: CliRun[] = [];
    for (let index = 0; index < CLI_RUNS; index++) {
      log(`embedded: CLI ${index + 1}/${CLI_RUNS}…`);
      runs.push(await cli(env, `Footprint ${index}`));
    }
    printTable(
      `Embedded database (PGlite) in a temporary folder: load GET /api/v1/modules/{id}/records?limit=10 (${RECORDS} records), ${CONNECTIONS} connections, ${LOAD_SECONDS} s`,
      [
        // The budget is for a folder in use; a first start also creates the database (initdb).
        ['start to healthy, empty folder (`pnpm start`)', ms(fresh.startMs), ms(fresh.startCpuMs), 'none', ''],
        ['  RSS when healthy / peak during that first start', `${mb(freshRssMb)} / ${mb(freshPeakMb)}`, '', '', ''],
        ['start to healthy, existing folder (`pnpm start`)', ms(again.startMs), ms(again.startCpuMs), ms(BUDGET.startMs), verdict(again.startMs, BUDGET.startMs)],
        [`  the same without npx and pnpm (\`${direct('start').join(' ')}\`)`, ms(bare.startMs), ms(bare.startCpuMs), '', ''],
        ...loadRows(load, BUDGET.embeddedRssMb),
        ...cliRows(runs, 'existing folder, server stopped'),
        ['  one call without npx and pnpm', ms(bareCli.ms), ms(bareCli.cpuMs), '', ''],
      ],
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function server(databaseUrl: string): Promise<void> {
  const env = { DATABASE_URL: databaseUrl };
  const created: string[] = [];
  try {
    const runs: CliRun[] = [];
    for (let index = 0; index < CLI_RUNS; index++) {
      log(`PostgreSQL: CLI ${index + 1}/${CLI_RUNS}…`);
      const run = await cli(env, `Footprint ${index}`);
      created.push(keyFromCli(run).workspaceId);
      runs.push(run);
    }
    const { key } = keyFromCli(runs[0] as CliRun);
    log('PostgreSQL: start, then load…');
    const started = await start(env);
    const load = await measureUnderLoad(started, key);
    await started.stop();
    log('PostgreSQL: start and CLI without npx and pnpm…');
    const bare = await start(env, direct('start'));
    await bare.stop();
    const bareCli = await cli(env, 'Footprint direct', direct('cli'));
    created.push(keyFromCli(bareCli).workspaceId);
    printTable(`PostgreSQL server: the same load`, [
      ['start to healthy (`pnpm start`)', ms(started.startMs), ms(started.startCpuMs), ms(BUDGET.startMs), verdict(started.startMs, BUDGET.startMs)],
      ['  the same without npx and pnpm', ms(bare.startMs), ms(bare.startCpuMs), '', ''],
      ...loadRows(load, BUDGET.serverRssMb),
      ...cliRows(runs, 'PostgreSQL server'),
      ['  one call without npx and pnpm', ms(bareCli.ms), ms(bareCli.cpuMs), '', ''],
    ]);
  } finally {
    // A server database outlives the run: leave it as it was found (everything cascades from the workspace).
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    await sql`delete from workspaces where id in ${sql(created)}`.catch(() => {});
    await sql.end();
  }
}

process.on('SIGINT', () => {
  stopLoad();
  for (const child of running) killGroup(child, 'SIGTERM');
  process.exit(130);
});

console.log(`Footprint: ${PNPM.join(' ')} start / cli from the repository root (as the README runs them), Node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
console.log(`Load: autocannon, ${CONNECTIONS} connections, ${LOAD_SECONDS} s, server with WORKSPACE_MAX_QUEUED=${CONNECTIONS}; RSS from /proc/<pid>/status every ${SAMPLE_EVERY_MS} ms, of the node process that serves`);
try {
  await embedded();
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) await server(databaseUrl);
  else console.log('\nPostgreSQL server: not measured (set DATABASE_URL).');
} catch (error) {
  failed = true;
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  for (const child of running) killGroup(child, 'SIGKILL');
}
console.log('\nWall times on a shared machine vary with its load; CPU time is the steadier figure. Budgets: start and CLI 3 s each;');
console.log(`RSS steady under load ${BUDGET.embeddedRssMb} MB on the embedded database, ${BUDGET.serverRssMb} MB with a PostgreSQL server.`);
process.exit(failed ? 1 : 0);
