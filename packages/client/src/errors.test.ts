import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { paths } from '../test/fixtures/schema.ts';
import { API_KEY, BASE_URL, json, MODULE, problem, rejection, type Step, scriptedFetch } from '../test/helpers.ts';
import { Charter } from './client.ts';
import {
  AccessDeniedError,
  BadRequestError,
  CannotRetryError,
  CharterError,
  ConflictError,
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  ServerError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  unwrap,
  ValidationError,
} from './errors.ts';

function throwing(steps: Step[]) {
  const script = scriptedFetch(steps);
  return new Charter<paths, true>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch, throwOnError: true, maxRetries: 0 });
}
const createModule = (client: Charter<paths, boolean>) => client.POST('/modules', { body: { name: 'Contacts' } });

describe('throwOnError', () => {
  it.each([
    [400, 'bad_request', BadRequestError],
    [400, 'cannot_retry', CannotRetryError],
    [401, 'unauthorized', UnauthorizedError],
    [403, 'access_denied', AccessDeniedError],
    [404, 'not_found', NotFoundError],
    [405, 'method_not_allowed', MethodNotAllowedError],
    [409, 'conflict', ConflictError],
    [409, 'idempotency_key_in_use', IdempotencyKeyInUseError],
    [413, 'payload_too_large', PayloadTooLargeError],
    [415, 'unsupported_media_type', UnsupportedMediaTypeError],
    [422, 'validation_failed', ValidationError],
    [422, 'idempotency_key_reused', IdempotencyKeyReusedError],
    [429, 'rate_limit_exceeded', RateLimitError],
    [500, 'server_error', ServerError],
    [503, 'service_unavailable', ServerError],
  ] as const)('%i %s throws %O', async (status, code, Class) => {
    const error = await rejection<CharterError>(createModule(throwing([problem(status, code)])));
    expect(error).toBeInstanceOf(Class);
    expect(error).toBeInstanceOf(CharterError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(Class.name);
    expect(error).toMatchObject({ status, code, message: `${code} happened`, requestId: `req_${code}` });
    expect(error.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.response?.status).toBe(status);
    expect(error.body).toMatchObject({ error: code });
  });

  it('prints as its own fields when uncaught, not as the Response it came from', async () => {
    const error = await rejection<CharterError>(createModule(throwing([problem(409, 'conflict')])));
    const printed = inspect(error);
    expect(printed).toContain('ConflictError: conflict happened');
    expect(printed).toContain("code: 'conflict'");
    expect(printed).not.toMatch(/Response \{|Headers \{|bodyUsed/);
    expect(printed.split('\n').length).toBeLessThan(30);
    expect(error.response?.status).toBe(409);
  });

  it('returns data on success, typed without undefined', async () => {
    const { data, error } = await createModule(throwing([json(201, MODULE)]));
    expect(data).toEqual(MODULE);
    expect(error).toBeUndefined();
  });

  it('carries the missing scopes on AccessDeniedError', async () => {
    const body = { message: 'Insufficient permissions. Required scope: records:write', required_scopes: ['records:write'] };
    const error = await rejection<AccessDeniedError>(createModule(throwing([problem(403, 'access_denied', body)])));
    expect(error.requiredScopes).toEqual(['records:write']);
    expect(error.message).toBe(body.message);
  });

  it('carries the per-field messages on ValidationError', async () => {
    const errors = { name: ['The name field is required.'] };
    const error = await rejection<ValidationError>(createModule(throwing([problem(422, 'validation_failed', { errors })])));
    expect(error.errors).toEqual(errors);
  });

  it('carries retry time and limits on RateLimitError', async () => {
    const body = { retry_after: 14, limit: 120, remaining: 0, reset_at: '2030-01-01T00:00:14.000Z' };
    // Bounded by the clock before and after, not by how fast this machine is at the moment.
    const before = Date.now();
    const error = await rejection<RateLimitError>(createModule(throwing([problem(429, 'rate_limit_exceeded', body, { 'retry-after': '14' })])));
    const after = Date.now();
    expect(error).toMatchObject({ retryAfter: 14, limit: 120, remaining: 0, resetAt: new Date('2030-01-01T00:00:14.000Z') });
    expect(error.retryAt!.getTime()).toBeGreaterThanOrEqual(before + 14_000);
    expect(error.retryAt!.getTime()).toBeLessThanOrEqual(after + 14_000);
    expect(error.retryAfterMs).toBeGreaterThan(14_000 - (after - before) - 1);
    expect(error.retryAfterMs).toBeLessThanOrEqual(14_000);
  });

  it('takes the request ID from X-Request-ID when the body has none', async () => {
    const error = await rejection<CharterError>(createModule(throwing([new Response('', { status: 404, headers: { 'x-request-id': 'req_from_header' } })])));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'not_found', requestId: 'req_from_header', message: 'HTTP 404, with an empty body.' });
  });

  it('reads an undocumented code as the usual code of its status, keeping the body', async () => {
    const error = await rejection<CharterError>(createModule(throwing([problem(404, 'gone_fishing')])));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'not_found', message: 'gone_fishing happened', requestId: 'req_gone_fishing', body: { error: 'gone_fishing' } });
  });

  it('falls back to the base class for an undocumented status', async () => {
    const error = await rejection<CharterError>(createModule(throwing([new Response('nope', { status: 418 })])));
    expect(error.constructor).toBe(CharterError);
    expect(error).toMatchObject({ status: 418, code: 'http_error', body: 'nope' });
  });
});

describe('result mode', () => {
  it('gives { data, error, response } as openapi-fetch does', async () => {
    const script = scriptedFetch([problem(404, 'not_found')]);
    const client = new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch });
    const result = await client.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_missing' } } });
    expect(result.data).toBeUndefined();
    expect(result.error).toEqual({ error: 'not_found', message: 'not_found happened', request_id: 'req_not_found' });
    expect(result.response.status).toBe(404);
  });

  it('turns one result into data or an error with unwrap', async () => {
    const script = scriptedFetch([json(201, MODULE), problem(409, 'conflict')]);
    const client = new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch });
    expect(unwrap(await createModule(client))).toEqual(MODULE);
    const conflict = await createModule(client);
    expect(() => unwrap(conflict)).toThrow(ConflictError);
    expect(() => unwrap(conflict)).toThrow(expect.objectContaining({ idempotencyKey: conflict.idempotencyKey, requestId: 'req_conflict' }));
  });
});

describe('bodies that are not the API’s JSON', () => {
  const html = (status: number, statusText: string) =>
    new Response('<html><body><h1>502 Bad Gateway</h1></body></html>', { status, statusText, headers: { 'content-type': 'text/html', 'x-request-id': 'req_from_proxy' } });
  const lenient = (steps: Step[]) => new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: scriptedFetch(steps).fetch, maxRetries: 0 });

  it('rejects an HTML error page with a CharterError, not an `error` typed as the envelope', async () => {
    const error = await rejection<ServerError>(createModule(lenient([html(502, 'Bad Gateway')])));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({
      status: 502,
      code: 'server_error',
      requestId: 'req_from_proxy',
      body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
      message: "HTTP 502 Bad Gateway, with a body that is not the API's JSON: <html><body><h1>502 Bad Gateway</h1></body></html>",
    });
  });

  it('rejects a 2xx with an HTML body with a CharterError, in both modes', async () => {
    for (const client of [lenient([html(200, 'OK')]), throwing([html(200, 'OK')])]) {
      const error = await rejection<CharterError>(createModule(client));
      expect(error).toBeInstanceOf(CharterError);
      expect(error).toMatchObject({ status: 200, code: 'invalid_response', requestId: 'req_from_proxy', body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
      expect(error.message).toMatch(/^HTTP 200 OK, with a body that is not the API's JSON: <html>/);
      expect(error.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('keeps returning the envelope as `error` in result mode', async () => {
    const { error, response } = await createModule(lenient([problem(409, 'conflict')]));
    expect(response.status).toBe(409);
    expect(error).toMatchObject({ error: 'conflict', message: 'conflict happened', request_id: 'req_conflict' });
  });

  it('shortens a long page in the message and keeps all of it in `body`', async () => {
    const page = `<html>${'x'.repeat(1000)}</html>`;
    const error = await rejection<CharterError>(createModule(lenient([new Response(page, { status: 503 })])));
    expect(error.message.length).toBeLessThan(300);
    expect(error.body).toBe(page);
  });
});
