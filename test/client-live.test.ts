import { Charter, RateLimitError } from '@charter/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';
import { sleep } from './support/time.ts';

/** The client's retry, idempotency and rate-limit behaviour against the real server. */
let server: TestServer;
let moduleId: string;

beforeAll(async () => {
  server = await startTestServer();
  moduleId = (await createModule(server, [{ name: 'n', type: 'number' }])).id;
});
afterAll(() => server.close());

const countRecords = async () =>
  (await server.database.sql<{ n: number }[]>`select count(*)::int as n from records where module_id = ${moduleId}`)[0]?.n ?? 0;

describe('the client against the real server', () => {
  it('retries a POST whose response was lost with the same Idempotency-Key: one record, replayed answer', async () => {
    let attempts = 0;
    const sentKeys: string[] = [];
    const client = new Charter({
      baseUrl: `${server.url}/api/v1`,
      apiKey: server.key,
      baseDelayMs: 10,
      // The first attempt reaches the server and is applied, but its answer is lost on the way back.
      fetch: async (request: Request) => {
        attempts++;
        sentKeys.push(request.headers.get('idempotency-key') ?? '');
        const response = await fetch(request);
        if (attempts === 1) throw new TypeError('fetch failed: socket hang up');
        return response;
      },
    });
    const before = await countRecords();
    const result = await client.POST('/modules/{module_id}/records', { params: { path: { module_id: moduleId } }, body: { data: { n: 1 } } });
    expect(result.error).toBeUndefined();
    expect(result.response.status).toBe(201);
    expect(result.response.headers.get('idempotent-replayed')).toBe('true');
    expect(attempts).toBe(2);
    expect(new Set(sentKeys).size).toBe(1);
    expect(result.idempotencyKey).toBe(sentKeys[0]);
    expect(await countRecords()).toBe(before + 1);
  });

  it('never collects a 429: with the allowance used up and the reset past its deadline, it fails fast without sending', async () => {
    // A daily quota: its reset, the next UTC midnight, lies past the two-minute deadline below.
    const untilMidnight = 86_400_000 - (Date.now() % 86_400_000);
    if (untilMidnight < 150_000) await sleep(untilMidnight + 1_000);
    const limited = await call(server, 'POST', '/api-keys', { body: { name: 'three a day', scopes: ['modules:read'], daily_quota: 3 } });
    const client = new Charter({ baseUrl: `${server.url}/api/v1`, apiKey: limited.body.key, timeoutMs: 120_000 });
    for (let i = 0; i < 3; i++) expect((await client.GET('/modules')).response.status).toBe(200);
    // Failing fast means long before the deadline, however busy the machine: half of it is plenty.
    const outcome = await Promise.race([client.GET('/modules').catch((error: unknown) => error), sleep(60_000).then(() => 'still waiting')]);
    expect(outcome).toBeInstanceOf(RateLimitError);
    const [counter] = await server.database.sql<{ count: number }[]>`
      select count from rate_limit_counters where subject = ${`key:${limited.body.id}`} and window_kind = 'day'`;
    // Three sent, none refused: the fourth call never left the client.
    expect(counter?.count).toBe(3);
  });

  it('holds 12 concurrent calls on a 5/min key to what each window allows: no 429 reaches the caller, at most one is sent', async () => {
    const limited = await call(server, 'POST', '/api-keys', { body: { name: 'five a minute', scopes: ['modules:read'], tier: 'free', rate_limit_per_minute: 5 } });
    const statuses: number[] = [];
    const client = new Charter({
      baseUrl: `${server.url}/api/v1`,
      apiKey: limited.body.key,
      // Three windows: five, five, then two. The last calls wait up to two minutes.
      timeoutMs: 150_000,
      // Every status the server sent, retried or not.
      fetch: async (request: Request) => {
        const response = await fetch(request);
        if (new URL(request.url).pathname.endsWith('/modules')) statuses.push(response.status);
        return response;
      },
    });
    let settled = 0;
    const calls = Array.from({ length: 12 }, () =>
      client.GET('/modules').then((result) => {
        settled++;
        return result.response.status;
      }),
    );
    await waitFor(() => settled >= 1, 30_000);
    // The public routes are never held by the key's allowance: they answer while calls still wait for a window.
    expect((await client.GET('/health')).response.status).toBe(200);
    expect((await client.GET('/openapi.json')).response.status).toBe(200);
    expect(settled).toBeLessThan(12);

    expect(await Promise.all(calls)).toEqual(Array(12).fill(200));
    expect(statuses.filter((status) => status === 429).length).toBeLessThanOrEqual(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(12);
    const [counted] = await server.database.sql<{ n: number }[]>`
      select coalesce(sum(count), 0)::int as n from rate_limit_counters where subject = ${`key:${limited.body.id}`} and window_kind = 'minute'`;
    // The minute counters count the tokens taken: the requests admitted, not those refused.
    expect(counted?.n).toBe(statuses.filter((status) => status === 200).length);
  }, 170_000);
});

/** Polls `condition` until it holds, failing after `withinMs`. */
async function waitFor(condition: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${withinMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
