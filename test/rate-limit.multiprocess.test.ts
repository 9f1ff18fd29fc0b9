import { connect, type Database } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';
import { type ApiProcess, startApiProcess } from './support/process.ts';
import { type ApiResponse, call } from './support/server.ts';
import { inOneWindow } from './support/time.ts';

/** What a window admits: the per-minute limit plus the burst of the keys below. */
const CAP = 250;

// Only a PostgreSQL server shows this: the embedded database runs one statement at a time.
describe.skipIf(!onServer)(serverOnly('one key hammered through four server processes, each leasing tokens'), () => {
  const processes: ApiProcess[] = [];
  let database: Database;
  let rootKey: string;

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    database = await connect({ databaseUrl, max: 2 });
    rootKey = (await createWorkspace(database.sql, { name: 'Hammered' })).key;
    // Requests wait for their workspace's turn rather than get 503 on a busy machine: every answer is then 200 or 429.
    const env = { DATABASE_URL: databaseUrl, WORKSPACE_MAX_QUEUED: '1000', WORKSPACE_QUEUE_TIMEOUT_MS: '120000' };
    processes.push(...(await Promise.all([1, 2, 3, 4].map(() => startApiProcess(env)))));
  });
  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await database?.close();
  });

  /** A fresh key: 200 a minute plus a burst of 50, so that a window admits exactly 250. */
  async function freshKey(): Promise<{ id: string; key: string }> {
    const created = await call({ url: processes[0]!.url, key: rootKey }, 'POST', '/api-keys', {
      body: { name: '200 + 50 per minute', scopes: ['modules:read'], tier: 'free', rate_limit_per_minute: 200, burst: 50 },
    });
    expect(created.body).toMatchObject({ rate_limit_per_minute: 200, burst: 50 });
    return { id: created.body.id, key: created.body.key };
  }

  /** `total` GETs, `concurrency` at a time, sent to `targets` in turn. */
  async function hammer(key: string, targets: ApiProcess[], total: number, concurrency: number): Promise<ApiResponse[]> {
    const answers: ApiResponse[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const index = next++;
          answers.push(await call({ url: targets[index % targets.length]!.url, key }, 'GET', '/modules?limit=1'));
        }
      }),
    );
    return answers;
  }

  async function minuteCounter(keyId: string, reset: string): Promise<{ count: number; writes: number }> {
    const [row] = await database.sql<{ count: number; writes: number }[]>`
      select count, writes from rate_limit_counters
      where subject = ${`key:${keyId}`} and window_kind = 'minute' and window_start = to_timestamp(${Number(reset) - 60})`;
    return row ?? { count: 0, writes: 0 };
  }

  /** Polls until `condition` holds; fails after `withinMs` (a condition, not a duration, decides). */
  async function waitFor(condition: () => Promise<boolean>, withinMs = 15_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${withinMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  function expectCorrect429(answer: ApiResponse, reset: string): void {
    const retryAfter = Number(answer.headers.get('retry-after'));
    expect(answer.body).toMatchObject({ error: 'rate_limit_exceeded', limit: CAP, remaining: 0, retry_after: retryAfter });
    expect(answer.body.reset_at).toBe(new Date(Number(reset) * 1000).toISOString());
    expect(answer.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(answer.headers.get('x-ratelimit-limit')).toBe(String(CAP));
    expect(answer.headers.get('ratelimit')).toBe(`"minute";r=0;t=${retryAfter}`);
    // Not before the window ends: a retry then is admitted, a retry sooner is not.
    expect(Math.ceil(Date.now() / 1000) + retryAfter).toBeGreaterThanOrEqual(Number(reset));
  }

  it('admits exactly the limit plus the burst in a window, with one counter write per block; every other request gets a correct 429', async () => {
    let keyId = '';
    // A window admits the cap only while demand lasts: every attempt's 400 requests fall in one
    // window (X-RateLimit-Reset names it), or it starts again with a fresh key in the next one.
    // 700 requests, 40 at a time: demand lasts on every process long after the cap is reached.
    const answers = await inOneWindow(async () => {
      const fresh = await freshKey();
      keyId = fresh.id;
      return hammer(fresh.key, processes, 700, 40);
    });
    expect(answers).toHaveLength(700);
    const reset = answers[0]!.headers.get('x-ratelimit-reset') as string;
    expect(new Set(answers.map((answer) => answer.headers.get('x-ratelimit-reset')))).toEqual(new Set([reset]));
    const admitted = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(admitted).toHaveLength(CAP);
    expect(refused).toHaveLength(700 - CAP);
    for (const answer of admitted) {
      const remaining = Number(answer.headers.get('x-ratelimit-remaining'));
      expect(remaining).toBeGreaterThanOrEqual(0);
      expect(remaining).toBeLessThan(CAP);
    }
    for (const answer of refused) expectCorrect429(answer, reset);
    // Every token taken was spent. (How few counter writes the blocks save depends on the machine's
    // speed, since blocks grow while they last under a second: the hot-key bench measures it.)
    const counter = await minuteCounter(keyId, reset);
    expect(counter.count).toBe(CAP);
  });

  it('admits the cap when demand moves from one process to the others within a window: tokens are not stranded', async () => {
    let keyId = '';
    const answers = await inOneWindow(async () => {
      const fresh = await freshKey();
      keyId = fresh.id;
      // Demand on one process first: it leases blocks and may hold tokens when its demand stops.
      const first = await hammer(fresh.key, [processes[0]!], 150, 10);
      const reset = first[0]!.headers.get('x-ratelimit-reset') as string;
      const admittedFirst = first.filter((answer) => answer.status === 200).length;
      // It gives back what it holds once idle: the counter then counts exactly what it admitted.
      await waitFor(async () => (await minuteCounter(fresh.id, reset)).count === admittedFirst);
      // Then demand moves to the other three.
      return [...first, ...(await hammer(fresh.key, processes.slice(1), 300, 30))];
    });
    const reset = answers[0]!.headers.get('x-ratelimit-reset') as string;
    expect(new Set(answers.map((answer) => answer.headers.get('x-ratelimit-reset')))).toEqual(new Set([reset]));
    const first = answers.slice(0, 150);
    expect(first.every((answer) => answer.status === 200)).toBe(true);
    const admitted = answers.filter((answer) => answer.status === 200);
    expect(admitted).toHaveLength(CAP);
    for (const answer of answers.filter((candidate) => candidate.status === 429)) expectCorrect429(answer, reset);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(450 - CAP);
    const counter = await minuteCounter(keyId, reset);
    expect(counter.count).toBe(CAP);
  });
  it('a key revoked while every process holds tokens for it fails at once, in every process', async () => {
    const fresh = await freshKey();
    // Demand on every process: each leases tokens for the key (the counter gives out more than was used).
    await hammer(fresh.key, processes, 120, 20);
    const revoked = await call({ url: processes[0]!.url, key: rootKey }, 'DELETE', `/api-keys/${fresh.id}`);
    expect(revoked.status).toBe(204);
    for (const target of processes) {
      const answer = await call({ url: target.url, key: fresh.key }, 'GET', '/modules?limit=1');
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ error: 'unauthorized' });
    }
  });

  it('tokens held when the limit is lowered below what the window counted admit nothing more', async () => {
    const answers = await inOneWindow(async () => {
      const fresh = await freshKey();
      const first = await hammer(fresh.key, processes, 120, 20);
      const lowered = await call({ url: processes[0]!.url, key: rootKey }, 'PATCH', `/api-keys/${fresh.id}`, {
        body: { rate_limit_per_minute: 10, burst: 0 },
      });
      expect(lowered.status).toBe(200);
      return [...first, ...(await hammer(fresh.key, processes, 40, 8))];
    });
    expect(answers.slice(0, 120).every((answer) => answer.status === 200)).toBe(true);
    // 120 were admitted in this window: under the new limit of 10 none is left, whatever the processes hold.
    const after = answers.slice(120);
    expect(after.map((answer) => answer.status)).toEqual(Array(40).fill(429));
    for (const answer of after) expect(answer.body).toMatchObject({ error: 'rate_limit_exceeded', limit: 10, remaining: 0 });
  });
});
