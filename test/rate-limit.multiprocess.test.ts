import { connect } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';
import { type ApiProcess, startApiProcess } from './support/process.ts';
import { type ApiResponse, call } from './support/server.ts';

// Only a PostgreSQL server shows this: the embedded database runs one statement at a time.
describe.skipIf(!onServer)(serverOnly('one key hammered through four server processes'), () => {
  const processes: ApiProcess[] = [];
  let key: string;

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    const database = await connect({ databaseUrl, max: 1 });
    const root = await createWorkspace(database.sql, { name: 'Hammered' });
    await database.close();
    processes.push(...(await Promise.all([1, 2, 3, 4].map(() => startApiProcess({ DATABASE_URL: databaseUrl })))));
    const created = await call({ url: processes[0]!.url, key: root.key }, 'POST', '/api-keys', {
      body: { name: '100 per minute', scopes: ['modules:read'], tier: 'free', rate_limit_per_minute: 100 },
    });
    expect(created.body).toMatchObject({ rate_limit_per_minute: 100, burst: 0 });
    key = created.body.key;
  });
  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
  });

  it('admits exactly the limit in each window; every other request gets a correct 429', async () => {
    const total = 400;
    const concurrency = 40;
    const answers: ApiResponse[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const index = next++;
          const target = processes[index % processes.length]!;
          answers.push(await call({ url: target.url, key }, 'GET', '/modules?limit=1'));
        }
      }),
    );
    expect(answers).toHaveLength(total);
    // Group by window: X-RateLimit-Reset names the window each answer was counted in. However long a
    // busy machine takes, the requests span few windows, and at least one of them gets more than the limit.
    const windows = new Map<string, ApiResponse[]>();
    for (const answer of answers) {
      const reset = answer.headers.get('x-ratelimit-reset') as string;
      windows.set(reset, [...(windows.get(reset) ?? []), answer]);
    }
    expect(Math.max(...[...windows.values()].map((inWindow) => inWindow.length))).toBeGreaterThan(100);
    for (const [reset, inWindow] of windows) {
      const admitted = inWindow.filter((answer) => answer.status === 200);
      const refused = inWindow.filter((answer) => answer.status === 429);
      expect(admitted).toHaveLength(Math.min(100, inWindow.length));
      expect(refused).toHaveLength(inWindow.length - admitted.length);
      const remainings = admitted.map((answer) => Number(answer.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b);
      expect(remainings).toEqual(Array.from({ length: admitted.length }, (_, i) => 100 - admitted.length + i));
      for (const answer of refused) {
        const retryAfter = Number(answer.headers.get('retry-after'));
        expect(answer.body).toMatchObject({ error: 'rate_limit_exceeded', limit: 100, remaining: 0, retry_after: retryAfter });
        expect(answer.headers.get('x-ratelimit-remaining')).toBe('0');
        expect(answer.headers.get('x-ratelimit-limit')).toBe('100');
        expect(answer.headers.get('ratelimit')).toBe(`"minute";r=0;t=${retryAfter}`);
        // Not before the window ends: a retry then is admitted, a retry sooner is not.
        expect(Math.ceil(Date.now() / 1000) + retryAfter).toBeGreaterThanOrEqual(Number(reset));
      }
    }
  });
});
