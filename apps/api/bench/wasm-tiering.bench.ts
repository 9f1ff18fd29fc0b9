/**
 * What V8's WebAssembly tier-up budget costs and saves on the embedded database, side by side: each
 * round opens the same existing PGlite folder in two fresh processes, one at V8's default budget and
 * one at `EMBEDDED_WASM_TIERING_BUDGET` (what `connect()` sets), in turn. Each process opens the
 * folder as `connect()` does (pg_trgm, the socket server, postgres.js), checks the migrations, then
 * runs a fixed series of statements (an insert, a page and a count, BENCH_STATEMENTS times), and
 * reports the CPU (user + system, every thread: the optimizing compiler runs on background threads)
 * of each part.
 *
 *   pnpm bench (with the others), or from apps/api:  node --import tsx bench/wasm-tiering.bench.ts
 *
 * BENCH_ROUNDS (5), BENCH_STATEMENTS (1000: each one insert, one page of 11 and one count). The
 * report goes to stdout; the exit status is 1 when a process failed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, EMBEDDED_SETTINGS, EMBEDDED_WASM_TIERING_BUDGET, migrate } from '@charter/db';
import { median } from './lib/stats.ts';
import { formatCount, formatRatio, formatTable } from './lib/table.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STATEMENTS = Number(process.env.BENCH_STATEMENTS ?? 1000);
const HERE = fileURLToPath(import.meta.url);

interface Figures {
  openMs: number;
  openCpuMs: number;
  statementsMs: number;
  statementsCpuMs: number;
}

/** In a child: open the folder as connect() does, at whatever budget node was started with. */
async function child(dataDir: string): Promise<void> {
  const cpu = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const began = performance.now();
  const cpuBegan = cpu();
  // PGlite is a dependency of @charter/db, not of this package: resolved from there.
  const fromDb = createRequire(fileURLToPath(import.meta.resolve('@charter/db')));
  const [{ PGlite }, { pg_trgm }, { PGLiteSocketServer }, { default: postgres }] = await Promise.all([
    import(fromDb.resolve('@electric-sql/pglite')),
    import(fromDb.resolve('@electric-sql/pglite/contrib/pg_trgm')),
    import(fromDb.resolve('@electric-sql/pglite-socket')),
    import(fromDb.resolve('postgres')),
  ]);
  const startParams = [...PGlite.defaultStartParams, ...Object.entries(EMBEDDED_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  const pglite = await PGlite.create(dataDir, { extensions: { pg_trgm }, startParams });
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  const sql = postgres({ max: 1, host, port: Number(port), database: 'postgres', username: 'postgres', onnotice: () => {}, connection: { TimeZone: 'UTC' } });
  await migrate(sql);
  const openMs = performance.now() - began;
  const openCpuMs = cpu() - cpuBegan;
  await sql`create table if not exists bench_tiering (id bigserial primary key, k text not null, v jsonb not null, created_at timestamptz not null default now())`;
  await sql`truncate bench_tiering`;
  const statementsBegan = performance.now();
  const statementsCpuBegan = cpu();
  for (let index = 0; index < STATEMENTS; index++) {
    const k = `k${index % 50}`;
    await sql`insert into bench_tiering (k, v) values (${k}, ${sql.json({ index, title: `Record ${index}` })})`;
    await sql`select id, k, v, created_at from bench_tiering where k = ${k} order by created_at desc, id desc limit 11`;
    await sql`select count(*)::int as n from bench_tiering where k = ${k}`;
  }
  const figures: Figures = { openMs, openCpuMs, statementsMs: performance.now() - statementsBegan, statementsCpuMs: cpu() - statementsCpuBegan };
  await sql`drop table bench_tiering`;
  await sql.end();
  await server.stop();
  await pglite.close();
  console.log(JSON.stringify(figures));
}

const VARIANTS = [
  { name: "V8's default budget", flags: [] as string[] },
  { name: `EMBEDDED_WASM_TIERING_BUDGET (${formatCount(EMBEDDED_WASM_TIERING_BUDGET)})`, flags: [`--wasm-tiering-budget=${EMBEDDED_WASM_TIERING_BUDGET}`] },
];

async function parent(): Promise<number> {
  const folder = await mkdtemp(join(tmpdir(), 'charter-tiering-'));
  const dataDir = join(folder, 'pglite');
  try {
    process.stderr.write('creating the embedded folder…\n');
    const database = await connect({ dataDir });
    await migrate(database.sql);
    await database.close();
    const results = VARIANTS.map(() => [] as Figures[]);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [index, variant] of VARIANTS.entries()) {
        process.stderr.write(`round ${round}/${ROUNDS}: ${variant.name}…\n`);
        // From this package's folder, where `--import tsx` resolves.
        const { stdout } = await promisify(execFile)(process.execPath, [...variant.flags, '--import', 'tsx', HERE, '--child', dataDir], {
          cwd: fileURLToPath(new URL('..', import.meta.url)),
          env: { ...process.env, NODE_OPTIONS: '' },
        });
        results[index]?.push(JSON.parse(stdout.trim().split('\n').at(-1) as string) as Figures);
      }
    }
    const of = (index: number, pick: (figures: Figures) => number) => median((results[index] ?? []).map(pick));
    const rows = VARIANTS.map((variant, index) => [
      variant.name,
      formatCount(of(index, (figures) => figures.openMs)),
      formatCount(of(index, (figures) => figures.openCpuMs)),
      formatCount(of(index, (figures) => figures.statementsMs)),
      formatCount(of(index, (figures) => figures.statementsCpuMs)),
    ]);
    rows.push([
      'ratio (budget / default)',
      formatRatio(of(1, (figures) => figures.openMs) / of(0, (figures) => figures.openMs)),
      formatRatio(of(1, (figures) => figures.openCpuMs) / of(0, (figures) => figures.openCpuMs)),
      formatRatio(of(1, (figures) => figures.statementsMs) / of(0, (figures) => figures.statementsMs)),
      formatRatio(of(1, (figures) => figures.statementsCpuMs) / of(0, (figures) => figures.statementsCpuMs)),
    ]);
    console.log(`WebAssembly tier-up budget on the embedded database: an existing folder opened in a fresh process, then ${STATEMENTS} × (insert, page, count); medians of ${ROUNDS} rounds, the variants in turn\n`);
    console.log(
      formatTable(
        [
          { title: 'budget' },
          { title: 'open + migration check ms', align: 'right' },
          { title: 'its CPU ms', align: 'right' },
          { title: 'statements ms', align: 'right' },
          { title: 'their CPU ms', align: 'right' },
        ],
        rows,
      ),
    );
    return 0;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] as string);
} else {
  process.exit(await parent());
}
