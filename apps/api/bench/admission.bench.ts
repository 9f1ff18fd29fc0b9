/**
 * The admission alone (authentication and the rate-limit counters: `Gatekeeper.admitKey`), without
 * HTTP or handlers, so that its cost is not drowned by the rest of a request: four gatekeepers, each
 * with its own connection pool as four server processes would have, admit requests of one hot key
 * or of 50 keys as fast as they can, side by side in interleaved rounds. With
 * `BENCH_BASELINE_SERVER` naming another checkout's `packages/server/src/index.ts`, its gatekeeper
 * is measured in the same rounds. Needs a PostgreSQL server (`DATABASE_URL`).
 *
 * Settings (environment): DATABASE_URL, BENCH_DURATION (s per measurement, 5), BENCH_ROUNDS (3),
 * BENCH_CONCURRENCY (admissions in flight per gatekeeper, 12), BENCH_BASELINE_SERVER (unset).
 */
import { resolve } from 'node:path';
import { connect, type Database, migrate } from '@charter/db';
import { createWorkspace, type Gatekeeper, postgresGatekeeper } from '@charter/server';
import { median } from './lib/stats.ts';
import { formatCount, formatTable } from './lib/table.ts';

const GATEKEEPERS = 4;
const KEYS = 50;

function setting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}=${JSON.stringify(raw)}: must be a whole number of at least ${min}`);
  return value;
}

function progress(message: string): void {
  process.stderr.write(`[admission] ${message}\n`);
}

type Make = typeof postgresGatekeeper;

interface Variant {
  name: string;
  gatekeepers: Gatekeeper[];
}

async function measure(variant: Variant, keys: string[], spread: boolean, seconds: number, concurrency: number) {
  // A pause between measurements: the previous one's pools give back what they hold and go idle.
  await new Promise((done) => setTimeout(done, 1_500));
  const deadline = performance.now() + seconds * 1_000;
  let admitted = 0;
  let refused = 0;
  let next = 0;
  await Promise.all(
    variant.gatekeepers.flatMap((gatekeeper) =>
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const key = spread ? keys[next++ % keys.length]! : keys[0]!;
          const outcome = await gatekeeper.admitKey(key);
          if (outcome?.decision.admitted) admitted++;
          else refused++;
        }
      }),
    ),
  );
  return { perSecond: admitted / seconds, refused };
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    progress('skipped: four gatekeepers with pools of their own need a PostgreSQL server (set DATABASE_URL)');
    return;
  }
  const seconds = setting('BENCH_DURATION', 5, 1);
  const rounds = setting('BENCH_ROUNDS', 3, 1);
  const concurrency = setting('BENCH_CONCURRENCY', 12, 1);
  const baseline = process.env.BENCH_BASELINE_SERVER || undefined;
  // Whatever hangs, the bench ends by itself.
  setTimeout(
    () => {
      progress('did not finish in time: giving up');
      process.exit(1);
    },
    (60 + rounds * 4 * (seconds + 5)) * 1_000,
  ).unref();

  const admin = await connect({ databaseUrl, max: 2 });
  await migrate(admin.sql);
  const databases: Database[] = [];
  const variants: Variant[] = [];
  const makers: [string, Make][] = [['this checkout', postgresGatekeeper]];
  if (baseline) makers.push([`baseline (${baseline})`, ((await import(resolve(baseline))) as { postgresGatekeeper: Make }).postgresGatekeeper]);
  for (const [name, make] of makers) {
    const gatekeepers: Gatekeeper[] = [];
    for (let i = 0; i < GATEKEEPERS; i++) {
      // As a server process: a pool of its own, counters on the non-durable one.
      const database = await connect({ databaseUrl, max: 10 });
      databases.push(database);
      gatekeepers.push(make(database.fastSql, { addressLimitPerMinute: 1_000_000 }));
    }
    variants.push({ name, gatekeepers });
  }

  const workspaces: string[] = [];
  const keys: string[] = [];
  let code = 0;
  try {
    for (let i = 0; i < KEYS; i++) {
      const created = await createWorkspace(admin.sql, { name: `admission bench ${i}` });
      workspaces.push(created.workspaceId);
      keys.push(created.key);
    }
    // A billion a minute, without a daily quota: nothing is refused, whatever the rate.
    await admin.sql`update api_keys set tier = 'enterprise', rate_limit_per_minute = 1000000000, burst = 0, daily_quota = null where workspace_id in ${admin.sql(workspaces)}`;

    const results = new Map<string, { perSecond: number; refused: number }[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const spread of round % 2 === 1 ? [false, true] : [true, false]) {
        for (const variant of variants) {
          const id = `${variant.name}\u0000${spread ? `${KEYS} keys` : '1 hot key'}`;
          progress(`round ${round}/${rounds}: ${variant.name}, ${spread ? `${KEYS} keys` : '1 hot key'}, ${seconds} s`);
          const sample = await measure(variant, keys, spread, seconds, concurrency);
          progress(`  ${formatCount(sample.perSecond)} admissions/s`);
          results.set(id, [...(results.get(id) ?? []), sample]);
        }
      }
    }
    const rows = [...results].map(([id, samples]) => {
      const [name, keysLabel] = id.split('\u0000');
      return [
        name!,
        keysLabel!,
        formatCount(median(samples.map((sample) => sample.perSecond))),
        samples.map((sample) => formatCount(sample.perSecond)).join(' / '),
      ];
    });
    const perSecond = (name: string, label: string) => median((results.get(`${name}\u0000${label}`) ?? []).map((sample) => sample.perSecond));
    process.stdout.write(
      [
        '',
        `Admission (Gatekeeper.admitKey) by ${GATEKEEPERS} gatekeepers with a pool of 10 connections each, ${concurrency} admissions in flight per gatekeeper,`,
        `${seconds} s per measurement, ${rounds} interleaved rounds; medians of the rounds. (Counter writes per admission: hot-key.bench.ts.)`,
        '',
        formatTable(
          [{ title: 'code' }, { title: 'keys' }, { title: 'admissions/s', align: 'right' }, { title: 'each round', align: 'right' }],
          rows,
        ),
        '',
        ...variants.map(
          (variant) =>
            `${variant.name}: hot key ÷ ${KEYS} keys = ${(perSecond(variant.name, '1 hot key') / perSecond(variant.name, `${KEYS} keys`)).toFixed(2)}`,
        ),
        ...(variants.length > 1
          ? ['1 hot key', `${KEYS} keys`].map(
              (label) => `${label}: this checkout ÷ baseline = ${(perSecond(variants[0]!.name, label) / perSecond(variants[1]!.name, label)).toFixed(2)}`,
            )
          : []),
        '',
      ].join('\n'),
    );
    const refused = [...results.values()].flat().reduce((total, sample) => total + sample.refused, 0);
    if (refused > 0) {
      process.stdout.write(`FAILED: ${refused} admissions refused\n`);
      code = 1;
    }
  } finally {
    if (workspaces.length > 0) await admin.sql`delete from workspaces where id in ${admin.sql(workspaces)}`.catch(() => {});
    await Promise.all([admin, ...databases].map((database) => database.close()));
  }
  process.exit(code);
}

await main();
