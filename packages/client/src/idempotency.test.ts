import { afterEach, describe, expect, it, vi } from 'vitest';
import type { paths } from '../test/fixtures/schema.ts';
import { API_KEY, BASE_URL, connectionReset, json, MODULE, problem, rejection, type Step, scriptedFetch } from '../test/helpers.ts';
import { Charter } from './client.ts';
import { ValidationError } from './errors.ts';
import { newIdempotencyKey } from './idempotency.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function charter(steps: Step[]) {
  const script = scriptedFetch(steps);
  return { client: new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch, baseDelayMs: 1 }), sent: script.sent };
}
const keysSent = (sent: { request: Request }[]) => sent.map((s) => s.request.headers.get('idempotency-key'));

describe('idempotency keys', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends one key on every attempt of a POST, and returns it', async () => {
    const { client, sent } = charter([problem(503, 'service_unavailable'), connectionReset(), json(201, MODULE)]);
    const { data, idempotencyKey } = await client.POST('/modules', { body: { name: 'Contacts' } });
    expect(data).toEqual(MODULE);
    expect(idempotencyKey).toMatch(UUID);
    expect(keysSent(sent)).toEqual([idempotencyKey, idempotencyKey, idempotencyKey]);
    expect(sent.map((s) => s.body)).toEqual(Array(3).fill('{"name":"Contacts"}'));
  });

  it('gives each logical call its own key', async () => {
    const { client, sent } = charter([json(201, MODULE), json(201, MODULE)]);
    const first = await client.POST('/modules', { body: { name: 'A' } });
    const second = await client.POST('/modules', { body: { name: 'B' } });
    expect(first.idempotencyKey).not.toBe(second.idempotencyKey);
    expect(keysSent(sent)).toEqual([first.idempotencyKey, second.idempotencyKey]);
  });

  it('puts keys on PATCH and DELETE but not on GET', async () => {
    const { client, sent } = charter([json(200, MODULE), new Response(null, { status: 204 }), json(200, MODULE)]);
    const path = { params: { path: { module_id: 'mod_01' } } };
    const patched = await client.PATCH('/modules/{module_id}', { ...path, body: { name: 'New' } });
    const deleted = await client.DELETE('/modules/{module_id}', path);
    const read = await client.GET('/modules/{module_id}', path);
    expect(keysSent(sent)).toEqual([patched.idempotencyKey, deleted.idempotencyKey, null]);
    expect(patched.idempotencyKey).toMatch(UUID);
    expect(deleted.idempotencyKey).toMatch(UUID);
    expect(deleted.data).toBeUndefined();
    expect(read.idempotencyKey).toBeUndefined();
  });

  it('uses the caller’s key from the idempotencyKey option', async () => {
    const { client, sent } = charter([problem(502, 'server_error'), json(201, MODULE)]);
    const { idempotencyKey } = await client.POST('/modules', { body: { name: 'Contacts' }, idempotencyKey: 'order-42-create-module' });
    expect(idempotencyKey).toBe('order-42-create-module');
    expect(keysSent(sent)).toEqual(['order-42-create-module', 'order-42-create-module']);
  });

  it('uses the caller’s key from an Idempotency-Key header', async () => {
    const { client, sent } = charter([json(201, MODULE), json(201, MODULE)]);
    const viaHeaders = await client.POST('/modules', { body: { name: 'A' }, headers: { 'Idempotency-Key': 'from-headers' } });
    const viaParams = await client.POST('/modules', { body: { name: 'B' }, params: { header: { 'Idempotency-Key': 'from-params' } } });
    expect([viaHeaders.idempotencyKey, viaParams.idempotencyKey]).toEqual(['from-headers', 'from-params']);
    expect(keysSent(sent)).toEqual(['from-headers', 'from-params']);
  });

  it('lets the option win over a header, so the key reported is the key sent', async () => {
    const { client, sent } = charter([json(201, MODULE)]);
    const { idempotencyKey } = await client.POST('/modules', {
      body: { name: 'A' },
      params: { header: { 'Idempotency-Key': 'header' } },
      idempotencyKey: 'option',
    });
    expect(idempotencyKey).toBe('option');
    expect(keysSent(sent)).toEqual(['option']);
  });

  it('puts the key on thrown errors', async () => {
    const script = scriptedFetch([problem(422, 'validation_failed', { errors: { name: ['The name field is required.'] } })]);
    const client = new Charter<paths, true>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch, throwOnError: true });
    const error = await rejection(client.POST('/modules', { body: { name: '' }, idempotencyKey: 'k-1' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ idempotencyKey: 'k-1', requestId: 'req_validation_failed' });
  });

  it('makes a v4 UUID where crypto.randomUUID is missing (plain-http browser pages)', () => {
    const { getRandomValues } = globalThis.crypto;
    vi.stubGlobal('crypto', { getRandomValues: getRandomValues.bind(globalThis.crypto) });
    const keys = new Set(Array.from({ length: 100 }, newIdempotencyKey));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(UUID);
  });
});
