import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { paths } from '../test/fixtures/schema.ts';
import { API_KEY, BASE_URL, json, MODULE, problem, rejection, type Step, scriptedFetch } from '../test/helpers.ts';
import { Charter } from './client.ts';
import { RateLimitError } from './errors.ts';
import { RateLimitGate } from './rate-limit.ts';

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

describe('RateLimitGate', () => {
  it('lets requests through once the window has reset', () => {
    const gate = new RateLimitGate();
    gate.update(new Response(null, { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2000000000' } }), 1_999_999_000_000);
    expect(gate.acquire(1_999_999_500_000).waitMs).toBe(500_000);
    expect(gate.acquire(2_000_000_000_000).waitMs).toBe(0);
  });

  it('ignores responses without rate-limit headers', () => {
    const gate = new RateLimitGate();
    gate.update(new Response(null, { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2000000000' } }), 1_999_999_000_000);
    gate.update(new Response(null), 1_999_999_000_000);
    expect(gate.acquire(1_999_999_000_000).waitMs).toBe(1_000_000);
  });
});
