import { ERROR_CODES, type ErrorCode } from '@charter/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

/**
 * Property-based fuzzing of every route of the served OpenAPI document (so a new route is fuzzed
 * without touching this file): generated hostile paths, queries, bodies and headers, each of
 * which must be answered with a documented success or a 4xx in the error envelope, never a 5xx.
 * A failure prints fast-check's seed and the shrunk request; `FUZZ_SEED=<seed>` replays it and
 * `FUZZ_RUNS=<n>` (default 30 per route) with `FUZZ_TIME_LIMIT_MS` searches longer.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
// CI replays one fixed search, so that a run tells about the change and not about the draw; elsewhere
// every run draws anew (fast-check prints the seed of a failure, for FUZZ_SEED to replay).
const CI_SEED = 20_261_202;
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : process.env.CI ? CI_SEED : undefined;
/** Per route: however loaded the machine, the file stays well under a minute (`FUZZ_TIME_LIMIT_MS` for longer searches). */
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 2_500);

let server: TestServer;
const serverErrors: unknown[] = [];
let sent = 0;
let document: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };

interface Schema {
  $ref?: string;
  properties?: Record<string, Schema>;
}
interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, unknown>;
}

beforeAll(async () => {
  server = await startTestServer({ logError: (message, error) => serverErrors.push(`${message}: ${(error as Error)?.stack ?? error}`) });
  const response = await fetch(`${server.url}/api/v1/openapi.json`);
  document = await response.json();
});
afterAll(async () => {
  console.log(`hostile-input fuzz: ${sent} requests (FUZZ_RUNS=${RUNS}${SEED === undefined ? '' : `, FUZZ_SEED=${SEED}`})`);
  await server.close();
  // A 5xx shows up in the answers; an error the server logged but answered with a 4xx shows up here.
  expect(serverErrors).toEqual([]);
});

/** Real ids for the path parameters, made afresh for each route (a DELETE may have removed them). */
async function fixtures(): Promise<Record<string, string>> {
  const module = await createModule(server, [
    { name: 'title', type: 'string' },
    { name: 'count', type: 'number' },
    { name: 'done', type: 'boolean' },
    { name: 'due', type: 'date' },
    { name: 'extra', type: 'json' },
    { name: 'constructor', type: 'string' },
  ]);
  const record = await call(server, 'POST', `/modules/${module.id}/records`, { body: { data: { title: 't', due: '2026-02-28' } } });
  const key = await call(server, 'POST', '/api-keys', { body: { name: 'Fuzz target', scopes: ['modules:read'] } });
  return { module_id: module.id, record_id: record.body.id, key_id: key.body.id };
}

// ── generators ────────────────────────────────────────────────────────────────────────────────

const PROTOTYPE_NAMES = [
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf',
  'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__',
];

const dateLike = fc
  .tuple(
    fc.integer({ min: 0, max: 10_001 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 61 }),
    fc.constantFrom('Z', '+00:00', '+14:00', '-23:59', '+24:00', '+99:00', '+05:60', '', 'z'),
    fc.boolean(),
  )
  .map(([year, month, day, hour, minute, zone, dateOnly]) => {
    const date = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    return dateOnly ? date : `${date}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00${zone}`;
  });

const cursorLike = fc.oneof(
  fc
    .record({
      s: fc.constantFrom('-created_at', 'created_at', 'name', '-id', '__proto__'),
      l: fc.oneof(fc.string({ maxLength: 30 }), fc.constant('x'.repeat(22))),
      v: fc.array(
        fc.oneof(
          dateLike.map((text) => text.replace('T', ' ')),
          fc.constantFrom('2026-13-01 00:00:00+00', '2026-02-30 00:00:00+00', '0000-01-01 00:00:00+00', '2026-01-01 00:00:00+99'),
          fc.string({ unit: 'binary', maxLength: 20 }),
          fc.integer(),
        ),
        { maxLength: 4 },
      ),
    })
    .map((state) => Buffer.from(JSON.stringify(state)).toString('base64url')),
  fc.base64String({ maxLength: 64 }),
);

const hostileText = fc.oneof(
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.string({ maxLength: 40 }),
  // Any UTF-16 code units: unpaired surrogates included.
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff', '\ufeff', '../../etc/passwd', '%00', 'null', 'true', '-1', '-0', '1e309', 'NaN',
    'Infinity', '0x10', '9'.repeat(400), 'x'.repeat(3_000), "' or 1=1 --", '*', 'records:read', 'mod_', 'rec_01', 'key_',
  ),
  dateLike,
  cursorLike,
);

/** Percent-encodes every byte, so that any generated string reaches the server as written. */
const percentEncode = (text: string) => [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');

const encodedText = fc.oneof(
  { weight: 6, arbitrary: hostileText.map(percentEncode) },
  // Invalid UTF-8 and malformed escapes, sent raw.
  { weight: 1, arbitrary: fc.constantFrom('%FF', '%C3%28', '%ED%A0%80', '%F4%90%80%80', '%C0%AF', '%', '%%', '%2', '%zz', '+', '%2F', '%5B%5D') },
);

const hugeNumbers = ['1e400', '-1e400', '1e-400', '-0', '0.0000000000000000000001', '123456789012345678901234567890', '9007199254740993', '1.5', '-1'];

const hostileScalar = fc.oneof(
  hostileText,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -Number.MAX_VALUE, 2 ** 31, 0.1),
);

function hostileObject(keys: string[]) {
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(keys.length > 0 ? keys : ['name'])) },
    { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  );
  return fc.dictionary(key, fc.oneof(hostileScalar, fc.array(hostileScalar, { maxLength: 3 }), fc.dictionary(key, hostileScalar, { maxKeys: 3 })), {
    maxKeys: 5,
  });
}

/** A body as bytes: JSON objects with hostile keys and values, and text that is hardly JSON at all. */
function hostileBody(keys: string[]) {
  const propertyJson = (value: unknown) => JSON.stringify(value) ?? 'null';
  return fc.oneof(
    { weight: 5, arbitrary: hostileObject(keys).map((object) => propertyJson(object)) },
    // Record data with hostile field names and values.
    { weight: 2, arbitrary: hostileObject(['title', 'count', 'done', 'due', 'extra', 'constructor']).map((data) => JSON.stringify({ data })) },
    // `__proto__` as an own key somewhere: JSON.stringify of generated objects cannot write it.
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...keys, 'data'), fc.constantFrom('{"__proto__":{"admin":true}}', '{"a":{"__proto__":1}}', '[{"__pro\\u0074o__":null}]'))
        .map(([key, value]) => `{"${key}":${value}}`),
    },
    // Numbers JSON.stringify cannot write.
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...keys, 'data'), fc.constantFrom(...hugeNumbers)).map(([key, number]) => `{"${key}":${number}}`) },
    // Deep nesting, closed or not, in arrays or objects.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 60, max: 50_000 }), fc.boolean(), fc.boolean()).map(([depth, arrays, closed]) => {
        const open = arrays ? '['.repeat(depth) : '{"a":'.repeat(depth);
        return `{"data":${open}${closed ? `1${(arrays ? ']' : '}').repeat(depth)}` : ''}}`;
      }),
    },
    // Not an object, not JSON, truncated, or not even UTF-8.
    { weight: 1, arbitrary: fc.constantFrom('', '[]', 'null', '"x"', '1', '{', '{"a":}', '{"name":"x"', '\ufeff{}', '{"a":1}{"b":2}', 'name=x') },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)) },
  );
}

const headerText = fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_:;,"=/+*'.split(''), 'é', 'ÿ'), maxLength: 300 });

function hostileHeaders(key: string) {
  return fc.record(
    {
      authorization: fc.oneof(
        { weight: 12, arbitrary: fc.constant(`Bearer ${key}`) },
        { weight: 1, arbitrary: fc.constantFrom(`ApiKey ${key}`, key, `Basic ${key}`, `Bearer ${key.slice(0, -1)}`, 'Bearer ', `Bearer ${key} ${key}`) },
        { weight: 1, arbitrary: headerText },
      ),
      'content-type': fc.constantFrom(
        'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json',
        'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '', '*/*',
      ),
      'idempotency-key': fc.oneof(headerText, fc.constant('"quoted"'), fc.constant('k'.repeat(300))),
      'x-request-id': headerText,
      accept: fc.constantFrom('application/json', 'text/html', '*/*', ''),
    },
    { requiredKeys: ['authorization'] },
  );
}

// ── the property ──────────────────────────────────────────────────────────────────────────────

interface Route {
  method: string;
  path: string;
  operation: Operation;
}

function routes(): Route[] {
  const found: Route[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'post', 'patch', 'delete', 'put']) {
      const operation = item[method];
      if (operation?.responses) found.push({ method: method.toUpperCase(), path, operation });
    }
  }
  return found;
}

function bodyKeys(operation: Operation): string[] {
  let schema = operation.requestBody?.content['application/json']?.schema;
  if (schema?.$ref) schema = document.components.schemas[schema.$ref.split('/').at(-1) as string];
  return Object.keys(schema?.properties ?? {});
}

interface Exchange {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  text: string;
}

/** Checks one answer: a documented success, or a 4xx whose envelope matches its status. */
function checkAnswer(exchange: Exchange, route: Route): void {
  const where = `${exchange.method} ${exchange.url} → ${exchange.status} ${exchange.text.slice(0, 300)}`;
  expect(exchange.status, where).toBeLessThan(500);
  const requestId = exchange.headers.get('x-request-id');
  expect(requestId, where).toBeTruthy();
  if (exchange.status < 400) {
    // Another method on the same path is another operation, with its own documented answers.
    const operation = document.paths[route.path]?.[exchange.method.toLowerCase()] ?? route.operation;
    expect(Object.keys(operation.responses), where).toContain(String(exchange.status));
    return;
  }
  expect(exchange.headers.get('content-type'), where).toMatch(/^application\/json/);
  const body = JSON.parse(exchange.text) as { error: ErrorCode; message: unknown; request_id: unknown };
  expect(ERROR_CODES[body.error], where).toBe(exchange.status);
  expect(typeof body.message, where).toBe('string');
  if (exchange.headers.get('idempotent-replayed') === 'true') {
    // A replay is the first answer's very body (API.md), with the request ID that answer had.
    expect(body.request_id, where).toEqual(expect.any(String));
  } else {
    expect(body.request_id, where).toBe(requestId);
  }
}

async function send(method: string, url: string, headers: Record<string, string>, body: string | Buffer | undefined): Promise<Exchange> {
  const payload = method === 'GET' || method === 'HEAD' || body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body);
  sent++;
  const response = await fetch(url, { method, headers, body: payload });
  return { method, url, status: response.status, headers: response.headers, text: await response.text() };
}

describe('hostile input to every route of the document', () => {
  it('finds the routes to fuzz in the served document', () => {
    expect(routes().length).toBeGreaterThanOrEqual(18);
  });

  // The document is fetched in beforeAll; the route list is read here, once it is there.
  it('answers each generated request with a documented success or a 4xx in the envelope', async () => {
    for (const route of routes()) {
      const ids = await fixtures();
      const pathNames = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] as string);
      const queryNames = (route.operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
      const keys = bodyKeys(route.operation);

      const pathValue = (name: string) =>
        fc.oneof(
          { weight: 3, arbitrary: fc.constant(ids[name] ?? `${name.split('_')[0]}_01jd8x3k5q9v2m7n4p6r8t0w1y`).map(encodeURIComponent) },
          { weight: 2, arbitrary: encodedText },
        );
      const queryName = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...(queryNames.length > 0 ? queryNames : ['limit'])) },
        { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
        { weight: 2, arbitrary: fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, 'title', 'due', 'count', 'done', 'extra'), fc.string({ maxLength: 10 })).map((name) => `filter[${name}]`) },
        { weight: 1, arbitrary: hostileText },
      );
      const request = fc.record({
        method: fc.oneof({ weight: 9, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS') }),
        path: fc.tuple(...pathNames.map(pathValue)),
        query: fc.array(fc.tuple(queryName.map(percentEncode), fc.oneof(encodedText, hostileText.map(percentEncode))), { maxLength: 6 }),
        headers: hostileHeaders(server.key),
        body: hostileBody(keys),
      });

      await fc.assert(
        fc.asyncProperty(request, async ({ method, path, query, headers, body }) => {
          let index = 0;
          const filled = route.path.replace(/\{[^}]+\}/g, () => path[index++] as string);
          const search = query.map(([name, value]) => `${name}=${value}`).join('&');
          const url = `${server.url}/api/v1${filled}${search ? `?${search}` : ''}`;
          checkAnswer(await send(method, url, headers as Record<string, string>, body), route);
        }),
        { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
      );
    }
    // Room for the time limit of each of several dozen routes, their fixtures and a shrink.
  }, 40 * TIME_LIMIT_MS + 60_000);

  it('answers hostile paths outside the routes (under /api/v1 and /docs) with a 4xx in the envelope', async () => {
    const route: Route = { method: 'GET', path: '/', operation: { responses: { 200: {} } } };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v1/', '/docs/', '/', '/api/'),
        fc.array(encodedText, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE'),
        async (prefix, segments, method) => {
          const exchange = await send(method, `${server.url}${prefix}${segments.join('/')}`, { authorization: `Bearer ${server.key}` }, undefined);
          // The only successes out here are the public documents, /health and the /docs assets.
          if (method === 'HEAD') return void expect(exchange.status, exchange.url).toBeLessThan(500);
          checkAnswer(exchange, route);
        },
      ),
      { numRuns: RUNS * 4, seed: SEED, interruptAfterTimeLimit: TIME_LIMIT_MS * 2, markInterruptAsFailure: false },
    );
  });
});
