import { createServer } from 'node:net';
import createClient from 'openapi-fetch';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { paths } from '../test/fixtures/schema.ts';
import { API_KEY, BASE_URL, connectionReset, json, MODULE, problem, rejection, type Step, scriptedFetch, slow } from '../test/helpers.ts';
import { Charter, type CharterOptions } from './client.ts';
import { ConnectionError, RateLimitError, ServerError, TimeoutError } from './errors.ts';
import { type AttemptEvent, createRetryFetch, describeNetworkError, type RetryEvent } from './retry.ts';

const T0 = new Date('2030-01-01T00:00:00.000Z');

function charter(steps: Step[], options: Partial<CharterOptions> = {}) {
  const script = scriptedFetch(steps);
  const client = new Charter<paths, boolean>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch, ...options });
  return { client, sent: script.sent };
}

const getModule = (client: Charter<paths, boolean>) => client.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_01' } } });

describe('retries (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('waits exactly Retry-After (delta-seconds) after a 429, then succeeds', async () => {
    const { client, sent } = charter([
      problem(429, 'rate_limit_exceeded', { retry_after: 2 }, { 'retry-after': '2' }),
      json(200, MODULE),
    ]);
    const call = getModule(client);
    await vi.advanceTimersByTimeAsync(1999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const { data } = await call;
    expect(data).toEqual(MODULE);
    expect(sent[1]!.at - sent[0]!.at).toBe(2000);
  });

  it('waits until a Retry-After HTTP-date', async () => {
    const { client, sent } = charter([
      problem(503, 'service_unavailable', {}, { 'retry-after': new Date(T0.getTime() + 5000).toUTCString() }),
      json(200, MODULE),
    ]);
    const call = getModule(client);
    await vi.advanceTimersByTimeAsync(4999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await call).data).toEqual(MODULE);
    expect(sent[1]!.at - sent[0]!.at).toBe(5000);
  });

  it('retries a 503 after a full-jitter backoff and reports it to onRetry', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const events: RetryEvent[] = [];
    const { client, sent } = charter([problem(503, 'service_unavailable'), json(200, MODULE)], { onRetry: (event) => void events.push(event) });
    const call = getModule(client);
    await vi.advanceTimersByTimeAsync(250);
    expect((await call).data).toEqual(MODULE);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.at - sent[0]!.at).toBe(250); // 0.5 × min(8000, 500 × 2^0)
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ attempt: 1, delayMs: 250, reason: 'HTTP 503', status: 503 });
    expect(events[0]!.request.url).toBe(`${BASE_URL}/modules/mod_01`);
  });

  it('grows the backoff window exponentially up to maxDelayMs', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const delays: number[] = [];
    const { client } = charter(
      [problem(500, 'server_error'), problem(502, 'server_error'), problem(504, 'server_error'), problem(500, 'server_error'), json(200, MODULE)],
      { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 1500, onRetry: ({ delayMs }) => void delays.push(delayMs) },
    );
    const call = getModule(client);
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await call).response.status).toBe(200);
    expect(delays).toEqual([499, 999, 1498, 1498]);
  });

  it('retries a reset connection, then succeeds', async () => {
    const events: RetryEvent[] = [];
    const { client, sent } = charter([connectionReset(), json(200, MODULE)], { onRetry: (event) => void events.push(event) });
    const call = getModule(client);
    await vi.advanceTimersByTimeAsync(500);
    expect((await call).data).toEqual(MODULE);
    expect(sent).toHaveLength(2);
    expect(events[0]).toMatchObject({ attempt: 1, reason: 'network error: fetch failed: read ECONNRESET', status: undefined });
    expect(events[0]!.error).toBeInstanceOf(TypeError);
  });

  it('retries 408, 500, 502, 503 and 504', async () => {
    for (const status of [408, 500, 502, 503, 504]) {
      const { client, sent } = charter([problem(status, 'server_error'), json(200, MODULE)]);
      const call = getModule(client);
      await vi.advanceTimersByTimeAsync(500);
      expect((await call).response.status).toBe(200);
      expect(sent, `status ${status}`).toHaveLength(2);
    }
  });

  it('fails with TimeoutError at the deadline when the response is too slow, not later', async () => {
    const { client, sent } = charter([slow(10_000, () => json(200, MODULE))], { timeoutMs: 1000 });
    const call = getModule(client);
    const failure = expect(call).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(1000);
    await failure;
    const error = await rejection<TimeoutError>(call);
    expect(error.code).toBe('timeout');
    expect(error.status).toBeUndefined();
    expect(Date.now() - T0.getTime()).toBe(1000);
    expect(sent).toHaveLength(1);
  });

  it('holds the deadline even against a fetch that ignores its signal', async () => {
    const never: Step = () => new Promise<Response>(() => {});
    const { client } = charter([never], { timeoutMs: 750 });
    const call = getModule(client);
    const failure = expect(call).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(750);
    await failure;
  });

  it('aborts an attempt that outlives attemptTimeoutMs and retries it', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { client, sent } = charter([slow(5000, () => json(200, MODULE)), json(200, { ...MODULE, name: 'Second' })], {
      attemptTimeoutMs: 100,
    });
    const call = getModule(client);
    await vi.advanceTimersByTimeAsync(100);
    expect((await call).data?.name).toBe('Second');
    expect(sent[0]!.request.signal.aborted).toBe(true);
    expect(sent).toHaveLength(2);
  });

  it('fails at once, with the retry time, when Retry-After ends past the deadline', async () => {
    const { client, sent } = charter([problem(429, 'rate_limit_exceeded', { retry_after: 30, limit: 60, remaining: 0 }, { 'retry-after': '30' })], {
      timeoutMs: 5000,
      throwOnError: true,
    });
    const error = await rejection<RateLimitError>(getModule(client));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(Date.now()).toBe(T0.getTime()); // no time spent waiting
    expect(sent).toHaveLength(1);
    expect(error.retryAfter).toBe(30);
    expect(error.retryAfterMs).toBe(30_000);
    expect(error.retryAt).toEqual(new Date(T0.getTime() + 30_000));
    expect(error.limit).toBe(60);
  });

  it('returns the last response at once in result mode when Retry-After ends past the deadline', async () => {
    const { client, sent } = charter([problem(503, 'service_unavailable', {}, { 'retry-after': '120' })], { timeoutMs: 10_000 });
    const { error, response } = await getModule(client);
    expect(response.status).toBe(503);
    expect(error).toMatchObject({ error: 'service_unavailable' });
    expect(Date.now()).toBe(T0.getTime());
    expect(sent).toHaveLength(1);
  });

  it('never retries 400, 401, 403, 404, 405, 409 conflict, 413, 415 or 422', async () => {
    const cases: [number, string][] = [
      [400, 'bad_request'],
      [401, 'unauthorized'],
      [403, 'access_denied'],
      [404, 'not_found'],
      [405, 'method_not_allowed'],
      [409, 'conflict'],
      [413, 'payload_too_large'],
      [415, 'unsupported_media_type'],
      [422, 'validation_failed'],
      [422, 'idempotency_key_reused'],
    ];
    for (const [status, code] of cases) {
      const { client, sent } = charter([problem(status, code)]);
      const { error, response } = await client.POST('/modules', { body: { name: 'Contacts' } });
      expect(response.status).toBe(status);
      expect(error).toMatchObject({ error: code });
      expect(sent, `${status} ${code}`).toHaveLength(1);
    }
  });

  it('retries 409 idempotency_key_in_use after its Retry-After, with the same key', async () => {
    const { client, sent } = charter([problem(409, 'idempotency_key_in_use', {}, { 'retry-after': '1' }), json(201, MODULE)]);
    const call = client.POST('/modules', { body: { name: 'Contacts' } });
    await vi.advanceTimersByTimeAsync(1000);
    const { data, idempotencyKey } = await call;
    expect(data).toEqual(MODULE);
    expect(sent.map((s) => s.request.headers.get('idempotency-key'))).toEqual([idempotencyKey, idempotencyKey]);
  });

  it('stops after maxRetries and hands back the last response', async () => {
    const { client, sent } = charter([problem(503, 'service_unavailable'), problem(503, 'service_unavailable'), problem(502, 'server_error')], {
      maxRetries: 2,
    });
    const call = getModule(client);
    await vi.advanceTimersByTimeAsync(10_000);
    const { error, response } = await call;
    expect(response.status).toBe(502);
    expect(error).toMatchObject({ error: 'server_error' });
    expect(sent).toHaveLength(3);
  });

  it('throws ConnectionError with the cause once network retries run out', async () => {
    const { client, sent } = charter([connectionReset(), connectionReset()], { maxRetries: 1 });
    const call = client.POST('/modules', { body: { name: 'Contacts' } });
    const failure = rejection<ConnectionError>(call);
    await vi.advanceTimersByTimeAsync(10_000);
    const error = await failure;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.code).toBe('connection_error');
    expect(error.message).toBe(`POST ${BASE_URL}/modules: gave up after 2 attempts: network error: fetch failed: read ECONNRESET.`);
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(error.idempotencyKey).toBe(sent[0]!.request.headers.get('idempotency-key'));
    expect(sent).toHaveLength(2);
  });

  it('lets per-call options override the client defaults', async () => {
    const { client, sent } = charter([problem(503, 'service_unavailable'), json(200, MODULE)], { maxRetries: 3 });
    const { response } = await client.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_01' } }, maxRetries: 0 });
    expect(response.status).toBe(503);
    expect(sent).toHaveLength(1);
  });

  it('stops waiting and rethrows the caller’s abort reason', async () => {
    const controller = new AbortController();
    const { client, sent } = charter([problem(429, 'rate_limit_exceeded', {}, { 'retry-after': '10' })]);
    const call = client.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_01' } }, signal: controller.signal });
    const failure = rejection(call);
    await vi.advanceTimersByTimeAsync(1000);
    controller.abort();
    expect(await failure).toMatchObject({ name: 'AbortError' });
    expect(sent).toHaveLength(1);
  });

  it('throws ServerError after retries in throwing mode', async () => {
    const { client } = charter([new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })], {
      maxRetries: 0,
      throwOnError: true,
    });
    const error = await rejection<ServerError>(getModule(client));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 502, code: 'server_error', message: "HTTP 502 Bad Gateway, with a body that is not the API's JSON: <html>Bad gateway</html>", body: '<html>Bad gateway</html>' });
  });
});

// With real timers, only lower bounds hold on a busy machine: a timer never fires early, but may
// fire late. The exact waits are the fake-clock tests' above.
describe('retries (real clock)', () => {
  it('honours Retry-After: 1, waiting at least that long', async () => {
    const { client, sent } = charter([problem(429, 'rate_limit_exceeded', { retry_after: 1 }, { 'retry-after': '1' }), json(200, MODULE)]);
    const { data } = await getModule(client);
    expect(data).toEqual(MODULE);
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('ends at a short deadline rather than waiting for the response', async () => {
    // The response would take ten minutes: this test ends (before its timeout) only if the deadline does.
    const { client } = charter([slow(600_000, () => json(200, MODULE))], { timeoutMs: 200 });
    const started = Date.now();
    await expect(getModule(client)).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
  });
});

describe('createRetryFetch', () => {
  it('checks its options when it is made', () => {
    expect(() => createRetryFetch({ maxRetries: -1 })).toThrow(RangeError);
    expect(() => createRetryFetch({ maxRetries: 1.5 })).toThrow(RangeError);
    expect(() => createRetryFetch({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => createRetryFetch({ baseDelayMs: Number.NaN })).toThrow(RangeError);
    expect(() => createRetryFetch({ timeoutMs: Number.POSITIVE_INFINITY })).not.toThrow();
  });

  it('works as plain openapi-fetch’s fetch, adding one idempotency key to a POST', async () => {
    const script = scriptedFetch([connectionReset(), json(201, MODULE)]);
    const client = createClient<paths>({ baseUrl: BASE_URL, fetch: createRetryFetch({ fetch: script.fetch, baseDelayMs: 1 }) });
    const { data } = await client.POST('/modules', { body: { name: 'Contacts' } });
    expect(data).toEqual(MODULE);
    const keys = script.sent.map((s) => s.request.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(script.sent.map((s) => s.body)).toEqual(['{"name":"Contacts"}', '{"name":"Contacts"}']);
  });
});

describe('network errors', () => {
  it('names the system error and the address behind undici’s "fetch failed"', async () => {
    // A port that was just free: connecting to it is refused at once.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const client = new Charter<paths>({ baseUrl: `http://127.0.0.1:${port}/api/v1`, maxRetries: 0 });
    const error = await rejection<ConnectionError>(client.GET('/modules'));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toBe(`GET http://127.0.0.1:${port}/api/v1/modules: gave up after 1 attempt: network error: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}.`);
  });

  it('lists each address of an AggregateError and names codes without messages', () => {
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}:80`), { code: 'ECONNREFUSED', address, port: 80 });
    const aggregate = Object.assign(new AggregateError([refused('::1'), refused('127.0.0.1')], ''), { code: 'ECONNREFUSED' });
    expect(describeNetworkError(new TypeError('fetch failed', { cause: aggregate }))).toBe(
      'fetch failed: ECONNREFUSED: connect ECONNREFUSED ::1:80; connect ECONNREFUSED 127.0.0.1:80',
    );
    expect(describeNetworkError(new TypeError('fetch failed', { cause: Object.assign(new Error(''), { code: 'ENOTFOUND', address: 'api.invalid' }) }))).toBe(
      'fetch failed: ENOTFOUND (api.invalid)',
    );
  });
});

describe('the onAttempt hook', () => {
  it('sees every attempt’s request and its response or error, retried or not', async () => {
    const events: AttemptEvent[] = [];
    const script = scriptedFetch([connectionReset(), problem(503, 'service_unavailable', {}, { 'retry-after': '0' }), json(200, MODULE)]);
    const client = new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch, baseDelayMs: 1, onAttempt: (event) => void events.push(event) });
    await client.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_01' } } });
    expect(events.map((event) => [event.attempt, event.response?.status, event.error instanceof TypeError])).toEqual([
      [1, undefined, true],
      [2, 503, false],
      [3, 200, false],
    ]);
    for (const event of events) {
      expect(event.request.url).toBe(`${BASE_URL}/modules/mod_01`);
      expect(event.request.headers.get('authorization')).toBe(`Bearer ${API_KEY}`);
      expect(event.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(await events[2]!.response!.clone().json()).toEqual(MODULE);
  });

  it('ends the call with the error the hook throws', async () => {
    const script = scriptedFetch([json(200, MODULE)]);
    const hookError = new Error('log sink down');
    const client = new Charter<paths>({ baseUrl: BASE_URL, fetch: script.fetch, onAttempt: () => { throw hookError; } });
    expect(await rejection(client.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_01' } } }))).toBe(hookError);
  });
});
