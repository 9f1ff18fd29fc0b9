import { describe, expect, it } from 'vitest';
import type { paths } from '../test/fixtures/schema.ts';
import { API_KEY, BASE_URL, json, MODULE, scriptedFetch } from '../test/helpers.ts';
import { Charter } from './client.ts';

describe('Charter', () => {
  it('sends the key as a bearer token, JSON bodies and query strings to baseUrl + path', async () => {
    const script = scriptedFetch([json(201, MODULE), json(200, { data: [], total: 0, limit: 10, page: 2, has_more: false, next_cursor: null })]);
    const charter = new Charter<paths>({ baseUrl: `${BASE_URL}/`, apiKey: API_KEY, fetch: script.fetch, headers: { 'X-Tenant-Hint': 'acme' } });
    await charter.POST('/modules', { body: { name: 'Contacts', fields: [{ name: 'email', type: 'string', required: true }] } });
    await charter.GET('/modules', { params: { query: { limit: 10, page: 2, fields: ['id', 'name'] } } });
    const [post, get] = script.sent;
    expect(post!.request.method).toBe('POST');
    expect(post!.request.url).toBe(`${BASE_URL}/modules`);
    expect(post!.request.headers.get('authorization')).toBe(`Bearer ${API_KEY}`);
    expect(post!.request.headers.get('content-type')).toBe('application/json');
    expect(post!.request.headers.get('accept')).toBe('application/json');
    expect(post!.request.headers.get('x-tenant-hint')).toBe('acme');
    expect(JSON.parse(post!.body)).toEqual({ name: 'Contacts', fields: [{ name: 'email', type: 'string', required: true }] });
    expect(get!.request.url).toBe(`${BASE_URL}/modules?limit=10&page=2&fields=id,name`);
    expect(get!.request.headers.has('idempotency-key')).toBe(false);
  });

  it('sends no Authorization header without a key (public endpoints)', async () => {
    const script = scriptedFetch([json(200, MODULE)]);
    const charter = new Charter<paths>({ baseUrl: BASE_URL, fetch: script.fetch });
    await charter.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_01' } } });
    expect(script.sent[0]!.request.headers.has('authorization')).toBe(false);
  });

  it('gives 204 responses undefined data', async () => {
    const script = scriptedFetch([new Response(null, { status: 204 })]);
    const charter = new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch });
    const { data, error, response } = await charter.DELETE('/modules/{module_id}', { params: { path: { module_id: 'mod_01' } } });
    expect([data, error, response.status]).toEqual([undefined, undefined, 204]);
  });

  it('keeps the response url', async () => {
    const response = json(200, MODULE);
    Object.defineProperty(response, 'url', { value: `${BASE_URL}/modules/mod_01` });
    const charter = new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: scriptedFetch([response]).fetch });
    const result = await charter.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_01' } } });
    expect(result.response.url).toBe(`${BASE_URL}/modules/mod_01`);
  });

  it('checks its options when it is made', () => {
    expect(() => new Charter<paths>({ baseUrl: '' })).toThrow(TypeError);
    expect(() => new Charter<paths>({ baseUrl: BASE_URL, apiKey: '' })).toThrow(TypeError);
    expect(() => new Charter<paths>({ baseUrl: BASE_URL, maxRetries: -1 })).toThrow(RangeError);
    expect(() => new Charter<paths>({ baseUrl: BASE_URL, timeoutMs: 0 })).toThrow(RangeError);
  });

  it('rejects a call with a bad per-call option', async () => {
    const charter = new Charter<paths>({ baseUrl: BASE_URL, fetch: scriptedFetch([]).fetch });
    await expect(charter.GET('/modules', { timeoutMs: -5 })).rejects.toBeInstanceOf(RangeError);
  });
});
