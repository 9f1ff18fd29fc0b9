import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let moduleId: string;

beforeAll(async () => {
  server = await startTestServer();
  moduleId = (await createModule(server, [{ name: 'email', type: 'string', required: true }])).id;
});
afterAll(() => server.close());

/** One request with headers exactly as given, repeated names included (fetch would merge them). */
function rawCall(method: string, path: string, headers: [string, string][], body?: string): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    // Given as an array, headers go out exactly as listed: Node adds no Host then.
    const flat = ['Host', new URL(server.url).host, ...headers.flat()];
    if (body !== undefined) flat.push('Content-Length', String(Buffer.byteLength(body)));
    const req = request(`${server.url}/api/v1${path}`, { method, headers: flat }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
        const json = res.headers['content-type']?.startsWith('application/json') ? JSON.parse(text) : text;
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: json, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function idempotencyRows(keyId: string): Promise<number> {
  const [row] = await server.database.sql<{ n: number }[]>`select count(*)::int as n from idempotency_keys where key_id = ${keyId}`;
  return row?.n ?? 0;
}

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const created = await call(server, 'POST', '/api-keys', { body: { name: `k ${Math.random()}`, ...body } });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

describe('a key is accepted only in the three documented forms', () => {
  it('Bearer, ApiKey (any letter case) and X-API-Key work', async () => {
    const forms: Record<string, string>[] = [{ authorization: `Bearer ${server.key}` }, { authorization: `apikey ${server.key}` }, { 'x-api-key': server.key }];
    for (const headers of forms) {
      const response = await call(server, 'GET', '/modules', { key: null, headers });
      expect(response.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('a bare key, another scheme, a repeated header or two different keys get the same 401', async () => {
    const other = await createKey({ scopes: ['modules:read'] });
    const refusals: [string, string][][] = [
      [['Authorization', server.key]],
      [['Authorization', `Basic ${server.key}`]],
      [['Authorization', `Token ${server.key}`]],
      [['Authorization', `Bearer${server.key}`]],
      [['Authorization', `Bearer ${server.key} extra`]],
      [['Authorization', `Bearer ${server.key}`], ['Authorization', `Bearer ${server.key}`]],
      [['X-API-Key', server.key], ['X-API-Key', other.key]],
      [['Authorization', `Bearer ${other.key}`], ['X-API-Key', server.key]],
      [['Authorization', 'Basic Zm9vOmJhcg=='], ['X-API-Key', server.key]],
    ];
    const missing = await rawCall('GET', '/modules', []);
    expect(missing.status).toBe(401);
    for (const headers of refusals) {
      const response = await rawCall('GET', '/modules', headers);
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect({ ...response.body, request_id: '' }).toEqual({ ...missing.body, request_id: '' });
      expect(response.headers.get('www-authenticate')).toBe(missing.headers.get('www-authenticate'));
    }
  });
});

describe('Idempotency-Key', () => {
  it('sent twice is a 400, whatever the two values, and nothing is claimed or created', async () => {
    const key = await createKey({ scopes: ['modules:write', 'modules:read'] });
    for (const [a, b] of [['one', 'two'], ['same', 'same'], ['"quoted"', 'bare']]) {
      const response = await rawCall(
        'POST',
        '/modules',
        [['Authorization', `Bearer ${key.key}`], ['Content-Type', 'application/json'], ['Idempotency-Key', a as string], ['Idempotency-Key', b as string]],
        JSON.stringify({ name: `twice ${a}` }),
      );
      expect(response.status, response.text).toBe(400);
      expect(response.body.error).toBe('bad_request');
      expect(response.body.message).toMatch(/one Idempotency-Key/);
    }
    expect(await idempotencyRows(key.id)).toBe(0);
    const list = await call(server, 'GET', '/modules?search=twice', { key: key.key });
    expect(list.body.data ?? []).toEqual([]);
  });

  it('the same JSON with its keys in another order, or another spacing, is the same request', async () => {
    const idempotencyKey = `order-${Math.random()}`;
    const headers = { 'idempotency-key': idempotencyKey, 'content-type': 'application/json' };
    const first = await call(server, 'POST', `/modules/${moduleId}/records`, { rawBody: '{"data":{"email":"a@example.com"}}', headers });
    expect(first.status, first.text).toBe(201);
    const nested = await call(server, 'POST', '/modules', { rawBody: '{"fields":[{"type":"string","name":"x","required":true}],"name":"Ordered"}', headers: { ...headers, 'idempotency-key': `${idempotencyKey}-m` } });
    expect(nested.status, nested.text).toBe(201);
    const reordered = await call(server, 'POST', '/modules', {
      rawBody: '{ "name" : "Ordered", "fields" : [ { "required": true, "name": "x", "type": "string" } ] }',
      headers: { ...headers, 'idempotency-key': `${idempotencyKey}-m` },
    });
    expect(reordered.status, reordered.text).toBe(201);
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    expect(reordered.body.id).toBe(nested.body.id);
    // A different request is still told apart: array order and values matter.
    const different = await call(server, 'POST', '/modules', {
      rawBody: '{"name":"Ordered","fields":[{"type":"string","name":"x","required":false}]}',
      headers: { ...headers, 'idempotency-key': `${idempotencyKey}-m` },
    });
    expect(different.status).toBe(422);
    expect(different.body.error).toBe('idempotency_key_reused');
  });

  it('a request refused by scope claims no key: 1,000 refused POSTs leave no row', async () => {
    const readOnly = await createKey({ scopes: ['modules:read'], tier: 'enterprise' });
    const batch = Array.from({ length: 1000 }, (_, index) => index);
    for (let start = 0; start < batch.length; start += 50) {
      const answers = await Promise.all(
        batch.slice(start, start + 50).map((index) =>
          call(server, 'POST', '/modules', { key: readOnly.key, body: { name: `n${index}` }, headers: { 'idempotency-key': `denied-${index}` } }),
        ),
      );
      for (const answer of answers) expect(answer.status).toBe(403);
    }
    expect(await idempotencyRows(readOnly.id)).toBe(0);
  });

  it('a request refused by validation stores nothing: the corrected request reuses the key', async () => {
    const key = await createKey({ scopes: ['records:write', 'modules:write'] });
    const idempotencyKey = `fix-${Math.random()}`;
    const bad = await call(server, 'POST', '/modules', { key: key.key, body: { name: '' }, headers: { 'idempotency-key': idempotencyKey } });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.body.error).toBe('validation_failed');
    const unknownField = await call(server, 'POST', '/modules', { key: key.key, body: { name: 'x', colour: 'red' }, headers: { 'idempotency-key': idempotencyKey } });
    expect(unknownField.status).toBe(422);
    expect(await idempotencyRows(key.id)).toBe(0);
    const fixed = await call(server, 'POST', '/modules', { key: key.key, body: { name: `Fixed ${idempotencyKey}` }, headers: { 'idempotency-key': idempotencyKey } });
    expect(fixed.status, fixed.text).toBe(201);
    const replay = await call(server, 'POST', '/modules', { key: key.key, body: { name: `Fixed ${idempotencyKey}` }, headers: { 'idempotency-key': idempotencyKey } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(fixed.body.id);
  });

  it('requests refused for their body or media type, or by the rate limit, claim no key', async () => {
    const key = await createKey({ scopes: ['modules:write'], rate_limit_per_minute: 2, tier: 'free' });
    const headers = { authorization: `Bearer ${key.key}`, 'idempotency-key': 'refused' };
    expect((await call(server, 'POST', '/modules', { key: null, rawBody: '{"name":', headers: { ...headers, 'content-type': 'application/json' } })).status).toBe(400);
    expect((await call(server, 'POST', '/modules', { key: null, rawBody: 'name=x', headers: { ...headers, 'content-type': 'text/plain' } })).status).toBe(415);
    const limited = await call(server, 'POST', '/modules', { key: null, body: { name: 'limited' }, headers });
    expect(limited.status).toBe(429);
    expect(await idempotencyRows(key.id)).toBe(0);
  });
});

describe('media types', () => {
  it('application/json in any letter case, with parameters, and any +json type are JSON', async () => {
    for (const type of ['APPLICATION/JSON', 'Application/Json; Charset=UTF-8', 'application/vnd.api+json', 'application/merge-patch+json', 'application/problem+JSON']) {
      const response = await call(server, 'POST', `/modules/${moduleId}/records`, { rawBody: JSON.stringify({ data: { email: `${type}@example.com` } }), headers: { 'content-type': type } });
      expect(response.status, `${type}: ${response.text}`).toBe(201);
    }
  });

  it('other types are a 415 in the envelope', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'json', 'application/json+xml', 'text/json; x=application/json']) {
      const response = await call(server, 'POST', `/modules/${moduleId}/records`, { rawBody: JSON.stringify({ data: { email: 'x@example.com' } }), headers: { 'content-type': type } });
      expect(response.status, type).toBe(415);
      expect(response.body.error).toBe('unsupported_media_type');
    }
  });
});

describe('every response is marked nosniff', () => {
  it('successes, errors, public routes, docs and unparsable requests', async () => {
    const responses = [
      await call(server, 'GET', '/modules'),
      await call(server, 'GET', '/modules', { key: null }),
      await call(server, 'GET', '/nope'),
      await call(server, 'GET', '/health', { key: null }),
      await call(server, 'GET', '/openapi.json', { key: null }),
    ];
    for (const response of responses) expect(response.headers.get('x-content-type-options'), String(response.status)).toBe('nosniff');
    for (const path of ['/docs', '/docs/init.js', '/docs/swagger-ui.css', '/docs/nope', '/docs/constructor']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    const garbage = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);
    expect(garbage).toMatch(/X-Content-Type-Options: nosniff/);
  });
});

describe('/docs', () => {
  it('sends a Content-Security-Policy that allows no inline script and nothing from elsewhere', async () => {
    const page = await fetch(`${server.url}/docs`);
    const html = await page.text();
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/default-src 'none'/);
    expect(policy).toMatch(/script-src 'self'(;|$)/);
    expect(policy).not.toMatch(/unsafe-eval|\*|https?:/);
    // No inline script: every <script> has a src on this origin.
    for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/docs\//);
    expect(html).not.toMatch(/<script>\s*\S/);
  });

  it('names that exist on Object.prototype are 404s in the envelope', async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const response = await fetch(`${server.url}/docs/${name}`);
      expect(response.status, name).toBe(404);
      expect((await response.json()).error).toBe('not_found');
    }
  });
});

describe('writes take no query parameters', () => {
  it('a query on POST, PATCH or DELETE is a 422 naming it, and nothing is changed', async () => {
    const module = await createModule(server, [], `Query ${Math.random()}`);
    for (const [method, path, body] of [
      ['DELETE', `/modules/${module.id}?valueOf=x`, undefined],
      ['PATCH', `/modules/${module.id}?name=Sneaky`, { description: 'x' }],
      ['POST', '/modules?dry_run=true', { name: `Never ${Math.random()}` }],
      ['DELETE', `/modules/${module.id}?__proto__=1&constructor=2`, undefined],
    ] as const) {
      const response = await call(server, method, path, body === undefined ? {} : { body });
      expect(response.status, `${method} ${path}: ${response.text}`).toBe(422);
      expect(response.body.error).toBe('validation_failed');
      expect(Object.keys(response.body.errors).length).toBeGreaterThan(0);
    }
    const still = await call(server, 'GET', `/modules/${module.id}`);
    expect(still.status).toBe(200);
    expect(still.body.description ?? null).toBeNull();
  });
});

describe('unknown keys inside a body', () => {
  it('are refused with a 422 naming them, at any depth, never silently dropped', async () => {
    const response = await call(server, 'POST', '/modules', {
      body: { name: `Nested ${Math.random()}`, fields: [{ name: 'title', type: 'string', colour: 'red' }] },
    });
    expect(response.status, response.text).toBe(422);
    expect(Object.keys(response.body.errors)).toEqual(['fields.0.colour']);
  });
});
