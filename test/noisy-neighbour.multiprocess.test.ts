import { readFileSync } from 'node:fs';
import { MAX_RECORD_DATA_BYTES } from '@charter/contracts';
import { connect } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { letters } from './support/data.ts';
import { type ApiProcess, startApiProcess } from './support/process.ts';
import { type ApiResponse, call } from './support/server.ts';

// Only a PostgreSQL server shows this: the embedded database runs one statement at a time, for everyone.
const onServer = inject('databaseKind') === 'postgres';

const STATEMENT_TIMEOUT_MS = 1_000;
const QUEUE_TIMEOUT_MS = 1_000;
const RECORDS = 120;
const LOOPS = 8;
/** How long the attack lasts, and how many requests each of A's loops makes at most. */
const ATTACK_MS = 20_000;
const REQUESTS_PER_LOOP = 60;

/** Peak resident memory of a process so far, in MiB, from Linux's high-water mark. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;

describe.skipIf(!onServer)('one workspace cannot starve the others (skipped on PGlite: it needs a PostgreSQL server and a server process)', () => {
  let api: ApiProcess;
  let a: { url: string; key: string };
  let b: { url: string; key: string };
  let moduleA: string;

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    const database = await connect({ databaseUrl, max: 1 });
    const [first, second] = [await createWorkspace(database.sql, { name: 'Noisy A' }), await createWorkspace(database.sql, { name: 'Quiet B' })];
    await database.close();
    // The database here has 2 cores, and one list of A runs its page and its count at once: one
    // request of A can keep both busy. So a workspace runs one request at a time against it, as the
    // README advises for a database this small; the defaults otherwise (a pool of 10).
    api = await startApiProcess({
      DATABASE_URL: databaseUrl,
      STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      WORKSPACE_MAX_CONCURRENCY: '1',
      WORKSPACE_QUEUE_TIMEOUT_MS: String(QUEUE_TIMEOUT_MS),
    });
    a = { url: api.url, key: first!.key };
    b = { url: api.url, key: second!.key };
    const created = await call(a, 'POST', '/modules', { body: { name: 'Blobs', fields: [{ name: 'body', type: 'string' }] } });
    expect(created.status).toBe(201);
    moduleA = created.body.id;
    // As large as a record may be, of letters whose every trigram occurs: the index cannot narrow a search.
    let next = 0;
    await Promise.all(
      [1, 2].map(async () => {
        while (next < RECORDS) {
          next++;
          const answer = await call(a, 'POST', `/modules/${moduleA}/records`, { body: { data: { body: letters(MAX_RECORD_DATA_BYTES - 20) } } });
          expect(answer.status).toBe(201);
        }
      }),
    );
    for (const index of [1, 2, 3]) {
      expect((await call(b, 'POST', '/modules', { body: { name: `Module ${index}`, fields: [] } })).status).toBe(201);
    }
  }, 180_000);
  afterAll(async () => {
    await api?.stop();
  });

  it("keeps B's GET /modules fast while A runs 8 loops of worst-case searches and large pages", async () => {
    // B alone first, for comparison.
    const quiet: number[] = [];
    for (let index = 0; index < 50; index++) {
      const started = performance.now();
      expect((await call(b, 'GET', '/modules')).status).toBe(200);
      quiet.push(performance.now() - started);
    }
    quiet.sort((x, y) => x - y);
    const peakBefore = peakRssMiB(api.child.pid as number);

    const outcomes = new Map<string, number>();
    const slowestA: number[] = [];
    const badA: { status: number; body: string; retryAfter: string | null }[] = [];
    const deadline = Date.now() + ATTACK_MS;
    let attacking = true;
    const loops = Array.from({ length: LOOPS }, async (_, loop) => {
      for (let request = 0; request < REQUESTS_PER_LOOP && Date.now() < deadline; request++) {
        const query = (loop + request) % 2 === 0 ? '?search=zzzz&limit=100' : '?limit=100';
        const started = performance.now();
        const answer: ApiResponse = await call(a, 'GET', `/modules/${moduleA}/records${query}`);
        slowestA.push(performance.now() - started);
        // 503s apart by cause: the workspace's turn never came, or the statement timeout cut the query.
        const outcome = answer.status === 503 ? `503 ${String(answer.body.message).split(' ').slice(0, 3).join(' ')}` : String(answer.status);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        const clean = answer.status === 200 || ((answer.status === 503 || answer.status === 429) && answer.headers.get('retry-after') !== null);
        if (!clean) badA.push({ status: answer.status, body: answer.text.slice(0, 300), retryAfter: answer.headers.get('retry-after') });
      }
    });
    const attack = Promise.all(loops).finally(() => {
      attacking = false;
    });

    const latenciesB: number[] = [];
    const statusesB = new Map<number, number>();
    while (attacking) {
      const started = performance.now();
      const answer = await call(b, 'GET', '/modules');
      latenciesB.push(performance.now() - started);
      statusesB.set(answer.status, (statusesB.get(answer.status) ?? 0) + 1);
    }
    await attack;

    const sortedB = [...latenciesB].sort((x, y) => x - y);
    const p50 = percentile(sortedB, 50);
    const p99 = percentile(sortedB, 99);
    const worstA = Math.max(...slowestA);
    const peak = peakRssMiB(api.child.pid as number);
    console.log(
      `B GET /modules alone: p50 ${percentile(quiet, 50).toFixed(1)} ms, p99 ${percentile(quiet, 99).toFixed(1)} ms; ` +
        `under attack: ${latenciesB.length} requests, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${sortedB.at(-1)?.toFixed(1)} ms; ` +
        `A: ${slowestA.length} requests, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}, slowest ${worstA.toFixed(0)} ms; ` +
        `server peak RSS ${peak.toFixed(0)} MiB (${peakBefore.toFixed(0)} MiB before the attack)`,
    );

    expect(Object.fromEntries(statusesB)).toEqual({ 200: latenciesB.length });
    expect(latenciesB.length).toBeGreaterThan(20);
    // The goal is 250 ms. On a machine other jobs load, B's own latency alone moves with them, so the
    // bound follows it (measured side by side in this run): the attack may not make B more than a few
    // times slower than it already is alone. Both figures are printed above.
    expect(p99).toBeLessThan(Math.max(250, 4 * percentile(quiet, 99)));
    expect(badA).toEqual([]);
    // A waits at most the queue timeout for a turn, then runs the module lookup and the page with
    // its count, each cut at the statement timeout; the rest is margin for a loaded machine.
    expect(worstA).toBeLessThan(QUEUE_TIMEOUT_MS + 2 * STATEMENT_TIMEOUT_MS + 3_000);
    expect(outcomes.get('200') ?? 0).toBeGreaterThan(0);
    expect(peak).toBeLessThan(512);
  }, 120_000);
});
