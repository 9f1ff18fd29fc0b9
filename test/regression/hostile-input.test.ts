import { MAX_JSON_DEPTH } from '@charter/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createModule, startTestServer, type TestServer } from '../support/server.ts';
import { rawRequest } from './raw-http.ts';

// Issue 9, "Hostile input gets a 4xx, never a 500": each of these answered 500 with a stack trace
// in the server log, or was silently accepted.
let server: TestServer;
let moduleId: string;
const serverErrors: unknown[] = [];
beforeAll(async () => {
  server = await startTestServer({ logError: (message, error) => serverErrors.push([message, error]) });
  moduleId = (
    await createModule(server, [
      { name: 'day', type: 'date' },
      { name: 'constructor', type: 'string' },
      { name: 'blob', type: 'json' },
    ])
  ).id;
  for (let n = 0; n < 3; n++) {
    const created = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { constructor: `c${n}` } } });
    expect(created.status, created.text).toBe(201);
  }
});
afterAll(async () => {
  await server.close();
  expect(serverErrors).toEqual([]);
});

const recordsPath = () => `/modules/${moduleId}/records`;

/** A 4xx in the documented envelope, with the request id of the response's header. */
function expectEnvelope(response: ApiResponse, status: number, error: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.body.error).toBe(error);
  expect(typeof response.body.message).toBe('string');
  expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
}

const PROTOTYPE_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', '__defineGetter__', 'isPrototypeOf', 'propertyIsEnumerable'];

describe('query keys named like Object.prototype members', () => {
  it('are unknown parameters (422 naming them), on every kind of list and on a get', async () => {
    for (const name of PROTOTYPE_NAMES) {
      for (const path of ['/modules', recordsPath(), '/api-keys', '/access-logs', `/modules/${moduleId}`]) {
        const response = await call(server, 'GET', `${path}?${name}=1`);
        expectEnvelope(response, 422, 'validation_failed');
        expect(Object.keys(response.body.errors), `${path} ${name}`).toEqual([name]);
      }
    }
  });

  it('inside filter[…] are unknown fields, or filter a field that bears the name', async () => {
    for (const name of PROTOTYPE_NAMES.filter((candidate) => candidate !== 'constructor')) {
      const response = await call(server, 'GET', `${recordsPath()}?filter[${name}]=1`);
      expectEnvelope(response, 422, 'validation_failed');
      expect(Object.keys(response.body.errors)).toEqual([`filter[${name}]`]);
    }
    const named = await call(server, 'GET', `${recordsPath()}?filter[constructor]=c1`);
    expect(named.status, named.text).toBe(200);
    expect(named.body.data.map((record: { data: { constructor: string } }) => record.data.constructor)).toEqual(['c1']);
  });
});

describe('body keys named like Object.prototype members', () => {
  it('are unknown fields (422 naming them)', async () => {
    for (const name of PROTOTYPE_NAMES.filter((candidate) => candidate !== '__proto__')) {
      const response = await call(server, 'POST', '/modules', { rawBody: `{"name":"Hostile ${name}","${name}":1}`, headers: { 'content-type': 'application/json' } });
      expectEnvelope(response, 422, 'validation_failed');
      expect(Object.keys(response.body.errors)).toEqual([name]);
    }
  });

  it('__proto__ is refused with a 422 naming its path, wherever it is and however it is spelled, and creates nothing', async () => {
    const before = (await call(server, 'GET', `${recordsPath()}?limit=1`)).body.total;
    const cases: [string, string, string][] = [
      ['POST', '/modules', '{"name":"Proto","__proto__":{"admin":true}}'],
      ['POST', '/modules', '{"name":"Proto","__pro\\u0074o__":1}'],
      ['POST', '/modules', '{"name":"Proto","fields":[{"name":"x","type":"string","__proto__":{}}]}'],
      ['POST', recordsPath(), '{"data":{"__proto__":{"day":"2026-01-01"}}}'],
      ['POST', recordsPath(), '{"data":{"blob":{"deep":[{"__proto__":1}]}}}'],
      ['PATCH', `${recordsPath()}/rec_00000000000000000000000000`, '{"data":{"__proto__":null}}'],
    ];
    const paths = ['__proto__', '__proto__', 'fields.0.__proto__', 'data.__proto__', 'data.blob.deep.0.__proto__', 'data.__proto__'];
    for (const [index, [method, path, body]] of cases.entries()) {
      const response = await call(server, method, path, { rawBody: body, headers: { 'content-type': 'application/json' } });
      expectEnvelope(response, 422, 'validation_failed');
      expect(Object.keys(response.body.errors), body).toEqual([paths[index]]);
    }
    expect((await call(server, 'GET', `${recordsPath()}?limit=1`)).body.total).toBe(before);
    expect((await call(server, 'GET', '/modules?search=Proto')).body.total).toBe(0);
  });

  it('a field named like a prototype member is absent when the record does not set it', async () => {
    const response = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: {} } });
    expect(response.status, response.text).toBe(201);
  });
});

describe('numbers JSON cannot carry', () => {
  it('are refused in json fields rather than stored as null', async () => {
    for (const blob of ['1e400', '{"a":[-1e400]}']) {
      const response = await call(server, 'POST', recordsPath(), { rawBody: `{"data":{"blob":${blob}}}`, headers: { 'content-type': 'application/json' } });
      expectEnvelope(response, 422, 'validation_failed');
      expect(Object.keys(response.body.errors)).toEqual(['data.blob']);
    }
    const tiny = await call(server, 'POST', recordsPath(), { rawBody: '{"data":{"blob":1e-400}}', headers: { 'content-type': 'application/json' } });
    expect(tiny.status, tiny.text).toBe(201);
  });
});

describe('JSON nesting', () => {
  const nested = (depth: number) => `{"data":{"blob":${'['.repeat(depth - 2)}1${']'.repeat(depth - 2)}}}`;

  it(`is allowed to ${MAX_JSON_DEPTH} levels and refused beyond with a 400`, async () => {
    const deepest = await call(server, 'POST', recordsPath(), { rawBody: nested(MAX_JSON_DEPTH), headers: { 'content-type': 'application/json' } });
    expect(deepest.status, deepest.text).toBe(201);
    const deeper = await call(server, 'POST', recordsPath(), { rawBody: nested(MAX_JSON_DEPTH + 1), headers: { 'content-type': 'application/json' } });
    expectEnvelope(deeper, 400, 'bad_request');
    // Brackets inside strings are text, not nesting.
    const inString = await call(server, 'POST', recordsPath(), { body: { data: { blob: `"\\${'['.repeat(5000)}` } } });
    expect(inString.status, inString.text).toBe(201);
  });

  it('about 4,500 and 1,000,000 levels deep get a 400, not a 500', async () => {
    const json = { 'content-type': 'application/json' };
    const closed = `{"name":"Deep","description":${'['.repeat(4_500)}${']'.repeat(4_500)}}`;
    expectEnvelope(await call(server, 'POST', '/modules', { rawBody: closed, headers: json }), 400, 'bad_request');
    const objects = `{"data":{"blob":${'{"a":'.repeat(4_500)}1${'}'.repeat(4_500)}}}`;
    expectEnvelope(await call(server, 'POST', recordsPath(), { rawBody: objects, headers: json }), 400, 'bad_request');
    // A million levels fit in the 1 MiB body limit only unclosed: refused before JSON.parse sees it.
    const million = `{"data":{"blob":${'['.repeat(1_000_000)}`;
    expectEnvelope(await call(server, 'POST', recordsPath(), { rawBody: million, headers: json }), 400, 'bad_request');
  });
});

describe('cursors', () => {
  const decode = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  const encode = (state: unknown) => Buffer.from(JSON.stringify(state)).toString('base64url');
  const firstCursor = async (path: string) => {
    const response = await call(server, 'GET', `${path}${path.includes('?') ? '&' : '?'}limit=1`);
    expect(response.status, response.text).toBe(200);
    return response.body.next_cursor as string;
  };

  it('whose timestamps are out of range are a 422 on cursor and never reach PostgreSQL', async () => {
    const state = decode(await firstCursor(recordsPath()));
    const times = [
      '2026-13-01 00:00:00+00', '2026-02-30 00:00:00+00', '2026-02-29 00:00:00+00', '0000-01-01 00:00:00+00', '2026-01-01 00:00:00+99',
      '10000-01-01 00:00:00+00', '2026-01-01 24:00:00+00', '2026-01-01 00:60:00+00', '2026-01-01 00:00:00+16:00', '2026-00-10 00:00:00+00',
    ];
    for (const time of times) {
      const response = await call(server, 'GET', `${recordsPath()}?limit=1&cursor=${encode({ ...state, v: [time, ...state.v.slice(1)] })}`);
      expectEnvelope(response, 422, 'validation_failed');
      expect(Object.keys(response.body.errors), time).toEqual(['cursor']);
    }
    const leapDay = await call(server, 'GET', `${recordsPath()}?limit=1&cursor=${encode({ ...state, v: ['2024-02-29 23:59:59.999999+15:59', ...state.v.slice(1)] })}`);
    expect(leapDay.status, leapDay.text).toBe(200);
  });

  it('serve only the list that issued them: not another module, resource, filter, search or time bound', async () => {
    const cursor = await firstCursor(recordsPath());
    const otherModule = (await createModule(server, [{ name: 'constructor', type: 'string' }])).id;
    await call(server, 'POST', `/modules/${otherModule}/records`, { body: { data: { constructor: 'x' } } });
    const elsewhere = [
      `/modules/${otherModule}/records`,
      '/modules',
      '/api-keys',
      '/access-logs',
      `${recordsPath()}?filter[constructor]=c1`,
      `${recordsPath()}?search=c`,
      `${recordsPath()}?created_after=2000-01-01T00:00:00Z`,
    ];
    for (const path of elsewhere) {
      const response = await call(server, 'GET', `${path}${path.includes('?') ? '&' : '?'}cursor=${cursor}`);
      expectEnvelope(response, 422, 'validation_failed');
      expect(Object.keys(response.body.errors), path).toContain('cursor');
    }
    // The list that issued it takes it, whatever the page size.
    const same = await call(server, 'GET', `${recordsPath()}?limit=2&cursor=${cursor}`);
    expect(same.status, same.text).toBe(200);
  });

  it('that were tampered with are a 422 on cursor', async () => {
    const state = decode(await firstCursor('/modules'));
    const forged = [
      { ...state, l: 'x'.repeat(22) },
      { s: state.s, v: state.v },
      { ...state, v: [...state.v, 'extra'] },
      { ...state, v: [state.v[0], 7] },
      { ...state, v: [state.v[0], 'mod_\u0000'] },
      { ...state, v: { constructor: 1 } },
      [state],
      'text',
    ];
    for (const candidate of forged) {
      const response = await call(server, 'GET', `/modules?cursor=${encode(candidate)}`);
      expectEnvelope(response, 422, 'validation_failed');
      expect(Object.keys(response.body.errors), JSON.stringify(candidate)).toEqual(['cursor']);
    }
  });
});

describe('dates that do not exist', () => {
  it('are refused everywhere dates enter (record fields, date filters, query bounds, expires_at); real ones are kept as written', async () => {
    const impossible = [
      '2026-02-30', '2026-13-01', '2026-00-01', '2026-04-31', '2023-02-29', '1900-02-29', '0000-01-01', '10000-01-01',
      '2026-01-01T24:00:00Z', '2026-01-01T23:60:00Z', '2026-01-01T23:59:60Z', '2026-01-01T00:00:00+24:00', '2026-01-01T00:00:00+99:00',
      '2026-01-01T00:00:00+05:60', '2026-02-30T00:00:00Z',
    ];
    for (const day of impossible) {
      const response = await call(server, 'POST', recordsPath(), { body: { data: { day } } });
      expectEnvelope(response, 422, 'validation_failed');
      expect(Object.keys(response.body.errors), day).toEqual(['data.day']);
      const filtered = await call(server, 'GET', `${recordsPath()}?filter[day]=${encodeURIComponent(day)}`);
      expectEnvelope(filtered, 422, 'validation_failed');
      expect(Object.keys(filtered.body.errors), day).toEqual(['filter[day]']);
    }
    for (const day of ['2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31', '2026-11-22T08:15:30.123456+23:59', '2026-11-22T08:15Z']) {
      const response = await call(server, 'POST', recordsPath(), { body: { data: { day } } });
      expect(response.status, `${day}: ${response.text}`).toBe(201);
      expect(response.body.data.day).toBe(day);
    }
    const keyId = (await call(server, 'GET', '/api-keys?limit=1')).body.data[0].id;
    for (const time of ['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00+99:00', '10000-01-01T00:00:00Z']) {
      const encoded = encodeURIComponent(time);
      for (const [path, name] of [
        [`/modules?created_after=${encoded}`, 'created_after'],
        [`${recordsPath()}?updated_before=${encoded}`, 'updated_before'],
        [`/access-logs?since=${encoded}`, 'since'],
        [`/access-logs?until=${encoded}`, 'until'],
        [`/api-keys/${keyId}/usage?since=${encoded}`, 'since'],
      ] as const) {
        const response = await call(server, 'GET', path);
        expectEnvelope(response, 422, 'validation_failed');
        expect(Object.keys(response.body.errors), path).toEqual([name]);
      }
      const key = await call(server, 'POST', '/api-keys', { body: { name: 'Impossible expiry', scopes: ['modules:read'], expires_at: time } });
      expectEnvelope(key, 422, 'validation_failed');
      expect(Object.keys(key.body.errors)).toEqual(['expires_at']);
    }
  });
});

describe('/docs', () => {
  it('answers 404 in the envelope for prototype names and odd paths', async () => {
    for (const name of [...PROTOTYPE_NAMES, '..%2Fpackage.json', '%00', 'swagger-ui.css%00', 'swagger-ui.css/x', 'constructor/']) {
      const response = await fetch(`${server.url}/docs/${name}`);
      const body = await response.json();
      expect(response.status, name).toBe(404);
      expect(body.error).toBe('not_found');
      expect(body.request_id).toBe(response.headers.get('x-request-id'));
    }
    expect((await fetch(`${server.url}/docs/swagger-ui.css`)).status).toBe(200);
  });
});

describe('request targets', () => {
  // Found by the fuzz suite: `new URL('//%%/x', base)` reads `%%` as a host and throws, and it threw
  // in the request listener, outside any promise: the whole process died.
  it('that begin with // are paths: a 4xx in the envelope, and the server keeps serving', async () => {
    for (const target of ['//%%/x', '//%zz', '//[/', '//evil.example/api/v1/modules', '//a:b@%/docs/']) {
      const response = await rawRequest(server.url, 'GET', target);
      expect(response.status, target).toBe(404);
      expect(JSON.parse(response.body).request_id).toBe(response.headers['x-request-id']);
    }
    expect((await call(server, 'GET', '/health', { key: null })).status).toBe(200);
  });
});
