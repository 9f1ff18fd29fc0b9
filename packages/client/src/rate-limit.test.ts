import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { paths } from '../test/fixtures/schema.ts';
import { API_KEY, BASE_URL, json, MODULE, problem, rejection, type Step, scriptedFetch } from '../test/helpers.ts';
import { Charter } from './client.ts';
import { RateLimitError } from './errors.ts';
import { PUBLIC_PATHS, RateLimitGate } from './rate-limit.ts';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const epoch = (ms: number) => String(Math.floor((T0.getTime() + ms) / 1000));

function charter(steps: Step[], timeoutMs?: number) {
  const script = scriptedFetch(steps);
  return { client: new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch, timeoutMs }), sent: script.sent };
}
const list = (client: Charter<paths>) => client.GET('/modules');
const page = { data: [MODULE], total: 1, limit: 25, page: 1, has_more: false, next_cursor: null };

describe('staying under the rate limit', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('waits for X-RateLimit-Reset once X-RateLimit-Remaining is 0, instead of collecting a 429', async () => {
    const { client, sent } = charter([
      json(200, page, { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': epoch(3000) }),
      json(200, page),
    ]);
    await list(client);
    const second = list(client);
    await vi.advanceTimersByTimeAsync(2999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await second).response.status).toBe(200);
    expect(sent[1]!.at).toBe(T0.getTime() + 3000);
  });

  it('reads the IETF RateLimit field', async () => {
    const { client, sent } = charter([json(200, page, { ratelimit: '"default";r=0;t=4', 'ratelimit-policy': '"default";q=60;w=60' }), json(200, page)]);
    await list(client);
    const second = list(client);
    await vi.advanceTimersByTimeAsync(3999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await second;
    expect(sent[1]!.at).toBe(T0.getTime() + 4000);
  });

  it('spends the known allowance across concurrent calls', async () => {
    const { client, sent } = charter([
      json(200, page, { 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': epoch(10_000) }),
      json(200, page),
      json(200, page),
      json(200, page),
    ]);
    await list(client);
    const calls = [list(client), list(client), list(client)];
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(3); // two left: the third call waits for the reset
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(calls);
    expect(sent[3]!.at).toBe(T0.getTime() + 10_000);
  });

  it('fails fast, without sending, when the reset comes after the deadline', async () => {
    const { client, sent } = charter(
      [json(200, page, { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': epoch(30_000) })],
      5000,
    );
    await list(client);
    const error = await rejection<RateLimitError>(list(client));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.status).toBeUndefined();
    expect(error.retryAt).toEqual(new Date(T0.getTime() + 30_000));
    expect(error.retryAfterMs).toBe(30_000);
    expect(error.retryAfter).toBe(30);
    expect(error).toMatchObject({ limit: 60, remaining: 0, resetAt: new Date(T0.getTime() + 30_000) });
    expect(error.message).toMatch(/not sent/);
    expect(sent).toHaveLength(1);
    expect(Date.now()).toBe(T0.getTime());
  });

  it('keeps the state per client instance', async () => {
    const script = scriptedFetch([json(200, page, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': epoch(60_000) }), json(200, page)]);
    const first = new Charter<paths>({ baseUrl: BASE_URL, apiKey: 'sk_test_one', fetch: script.fetch });
    const second = new Charter<paths>({ baseUrl: BASE_URL, apiKey: 'sk_test_two', fetch: script.fetch });
    await first.GET('/modules');
    await second.GET('/modules');
    expect(script.sent).toHaveLength(2);
    expect(Date.now()).toBe(T0.getTime());
  });

  it('takes a 429’s Retry-After over a later window reset', async () => {
    const { client, sent } = charter([
      problem(429, 'rate_limit_exceeded', { retry_after: 2 }, { 'retry-after': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': epoch(60_000) }),
      json(200, page),
    ]);
    const call = list(client);
    await vi.advanceTimersByTimeAsync(2000);
    expect((await call).response.status).toBe(200);
    expect(sent[1]!.at).toBe(T0.getTime() + 2000);
  });
});

describe('concurrent calls on one key', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  /** Answers like the API with a fixed one-minute window of `limit` requests per key. */
  function limitedApi(limit: number) {
    const counts = new Map<number, number>();
    const statuses: number[] = [];
    const fetch = async (request: Request) => {
      if (!request.headers.has('authorization') || new URL(request.url).pathname.endsWith('/health')) return json(200, { status: 'ok', database: 'ok' });
      const window = Math.floor(Date.now() / 60_000);
      const count = (counts.get(window) ?? 0) + 1;
      counts.set(window, count);
      const reset = String((window + 1) * 60);
      const headers = { 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(Math.max(0, limit - count)), 'x-ratelimit-reset': reset };
      const retryAfter = String(Math.ceil(((window + 1) * 60_000 - Date.now()) / 1000));
      const response = count > limit ? problem(429, 'rate_limit_exceeded', {}, { ...headers, 'retry-after': retryAfter }) : json(200, page, headers);
      statuses.push(response.status);
      return response;
    };
    return { fetch, statuses };
  }

  it('sends one request first, then only what the window allows, and never hands a 429 back', async () => {
    const api = limitedApi(5);
    const client = new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: api.fetch, timeoutMs: 180_000 });
    const results: number[] = [];
    const calls = Array.from({ length: 12 }, () => list(client).then(({ response }) => results.push(response.status)));
    await vi.advanceTimersByTimeAsync(0);
    expect(api.statuses).toEqual([200, 200, 200, 200, 200]);
    // The public routes are not held by the key's allowance.
    // The fixture has no public route; the API's own document does.
    const health = await (client as unknown as Charter).GET('/health');
    expect(health.response.status).toBe(200);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(api.statuses).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(calls);
    expect(results).toEqual(Array(12).fill(200));
    expect(api.statuses).toEqual(Array(12).fill(200));
  });
});

describe('RateLimitGate', () => {
  const limited = (remaining: number, reset = '2000000000') => new Response(null, { headers: { 'x-ratelimit-remaining': String(remaining), 'x-ratelimit-reset': reset } });
  const NOW = 1_999_999_000_000;

  it('lets requests through once the window has reset', () => {
    const gate = new RateLimitGate();
    gate.update(limited(0), NOW);
    expect(gate.acquire(NOW + 500_000)).toMatchObject({ until: 2_000_000_000_000 });
    expect(gate.acquire(2_000_000_000_000).ticket).toBeDefined();
  });

  it('ignores responses without rate-limit headers', () => {
    const gate = new RateLimitGate();
    gate.update(limited(0), NOW);
    gate.update(new Response(null), NOW);
    expect(gate.acquire(NOW)).toMatchObject({ until: 2_000_000_000_000 });
  });

  it('sends one request while the allowance is unknown and holds the others until it answers', async () => {
    const gate = new RateLimitGate();
    const first = gate.acquire(NOW);
    expect(first.ticket?.probe).toBe(true);
    const second = gate.acquire(NOW);
    expect(second).not.toHaveProperty('ticket');
    expect(second).not.toHaveProperty('until');
    gate.settle(first.ticket!, limited(2), NOW);
    await (second as { changed: Promise<void> }).changed;
    expect(gate.acquire(NOW).ticket).toBeDefined();
    expect(gate.acquire(NOW).ticket).toBeDefined();
    expect(gate.acquire(NOW)).toMatchObject({ until: 2_000_000_000_000 });
  });

  it('counts requests still in flight against a later reading of the same window', () => {
    const gate = new RateLimitGate();
    gate.settle(gate.acquire(NOW).ticket!, limited(4), NOW);
    const tickets = [1, 2, 3, 4].map(() => gate.acquire(NOW).ticket!);
    // The first of the four answers says 3 remain, but the other three were sent after it was counted.
    gate.settle(tickets[0]!, limited(3), NOW);
    expect(gate.acquire(NOW)).toMatchObject({ until: 2_000_000_000_000 });
  });

  it('learns from a late answer of a new window, less what is still in flight', () => {
    const gate = new RateLimitGate();
    gate.settle(gate.acquire(NOW).ticket!, limited(1), NOW);
    const inFlight = gate.acquire(NOW).ticket!;
    const later = gate.acquire(2_000_000_000_000).ticket!; // the window has reset: this one learns the new allowance
    gate.settle(later, limited(4, '2000000060'), 2_000_000_000_000);
    expect([1, 2, 3].map(() => gate.acquire(2_000_000_000_000).ticket !== undefined)).toEqual([true, true, true]);
    expect(gate.acquire(2_000_000_000_000)).toMatchObject({ until: 2_000_000_060_000 });
    // An answer from the previous window changes nothing.
    gate.settle(inFlight, limited(0), 2_000_000_000_000);
    expect(gate.acquire(2_000_000_000_000)).toMatchObject({ until: 2_000_000_060_000 });
  });

  it('applies to requests that carry a key, except the public routes', () => {
    const request = (path: string, headers: Record<string, string> = { authorization: 'Bearer sk_test_x' }) => new Request(`${BASE_URL}${path}`, { headers });
    expect(RateLimitGate.applies(request('/modules'))).toBe(true);
    expect(RateLimitGate.applies(request('/modules', { 'x-api-key': 'sk_test_x' }))).toBe(true);
    expect(RateLimitGate.applies(request('/modules', {}))).toBe(false);
    expect(RateLimitGate.applies(request('/health'))).toBe(false);
    expect(RateLimitGate.applies(request('/openapi.json'))).toBe(false);
    expect(RateLimitGate.applies(request('/openapi-3.0.json'))).toBe(false);
  });

  it('names every public operation of the API document', () => {
    const document = JSON.parse(readFileSync(new URL('../../../apps/api/openapi.json', import.meta.url), 'utf8'));
    const publicPaths = Object.entries(document.paths as Record<string, Record<string, { security?: unknown[] }>>)
      .filter(([, item]) => Object.values(item).some((operation) => operation.security?.length === 0))
      .map(([path]) => path);
    expect([...PUBLIC_PATHS].sort()).toEqual(publicPaths.sort());
  });
});
