import { type AccessLogEntry, createWorkspace } from '@charter/server';
import type { AppRouter } from '@charter/server/trpc';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface Seen {
  status: number;
  headers: Headers;
}

/** A typed tRPC client over real HTTP, as an integrator makes it; `seen` collects each HTTP answer. */
function client(headers: Record<string, string>, options: { batch?: boolean } = {}) {
  const seen: Seen[] = [];
  const link = (options.batch === false ? httpLink : httpBatchLink)({
    url: `${server.url}/api/trpc`,
    headers: () => headers,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      seen.push({ status: response.status, headers: response.headers });
      return response;
    },
  });
  return { trpc: createTRPCClient<AppRouter>({ links: [link] }), seen };
}

async function failure(promise: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof TRPCClientError)) throw new Error(`expected a TRPCClientError, got ${String(outcome)}`);
  return outcome as TRPCClientError<AppRouter>;
}

/** The error's `data` as the API fills it: its envelope beside tRPC's code and the HTTP status. */
function data(error: TRPCClientError<AppRouter>): Record<string, unknown> {
  return error.data as unknown as Record<string, unknown>;
}

async function keyWith(scopes: string[], extra: Record<string, unknown> = {}) {
  const created = await call(server, 'POST', '/api-keys', { body: { name: 'trpc', scopes, ...extra } });
  expect(created.status, created.text).toBe(201);
  return { key: created.body.key as string, id: created.body.id as string };
}

describe('tRPC at /api/trpc', () => {
  it('accepts the API key in each of the three header forms and serves typed results', async () => {
    const module = await createModule(server, [{ name: 'email', type: 'string', required: true }]);
    for (const headers of <Record<string, string>[]>[{ authorization: `Bearer ${server.key}` }, { authorization: `ApiKey ${server.key}` }, { 'x-api-key': server.key }]) {
      const { trpc } = client(headers);
      const got = await trpc.getModule.query({ module_id: module.id });
      expect(got.id).toBe(module.id);
      expect(got.fields.map((field) => field.name)).toEqual(['email']);
    }
  });

  it('refuses a missing, malformed or unknown key with 401 in the API vocabulary', async () => {
    const unknownKey = `sk_live_${'A'.repeat(38)}`;
    for (const headers of <Record<string, string>[]>[{}, { authorization: 'Bearer nope' }, { authorization: `Bearer ${unknownKey}` }, { authorization: `Bearer ${server.key}`, 'x-api-key': unknownKey }]) {
      const { trpc, seen } = client(headers);
      const error = await failure(trpc.listModules.query({}));
      expect(error.data?.code).toBe('UNAUTHORIZED');
      expect(data(error)).toMatchObject({ error: 'unauthorized', httpStatus: 401, message: 'A valid API key is required.' });
      expect(data(error).request_id).toBe(seen[0]?.headers.get('x-request-id'));
      expect(seen[0]?.status).toBe(401);
      expect(seen[0]?.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    }
  });

  it('reads nothing of a request without a valid key: an unreadable body is still a 401', async () => {
    const response = await fetch(`${server.url}/api/trpc/createModule`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { data: Record<string, unknown> } }).error.data).toMatchObject({ error: 'unauthorized' });
    const withKey = await fetch(`${server.url}/api/trpc/createModule`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` }, body: '{' });
    expect(withKey.status).toBe(400);
  });

  it('checks scopes before the input: a key without the scope gets 403, even for invalid input', async () => {
    const narrow = await keyWith(['modules:read']);
    const { trpc, seen } = client({ authorization: `Bearer ${narrow.key}` });
    const error = await failure(trpc.createModule.mutate({ name: 'Nope', fields: [] }));
    expect(data(error)).toMatchObject({ code: 'FORBIDDEN', httpStatus: 403, error: 'access_denied', required_scopes: ['modules:write'] });
    expect(seen[0]?.status).toBe(403);
    const invalid = await failure(trpc.createModule.mutate({ name: 42 } as never));
    expect(data(invalid)).toMatchObject({ error: 'access_denied', httpStatus: 403 });
    // With the scope, the same invalid input is a 422 with the field's error.
    const { trpc: full } = client({ authorization: `Bearer ${server.key}` });
    const refused = await failure(full.createModule.mutate({ name: 42 } as never));
    expect(data(refused)).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', httpStatus: 422, error: 'validation_failed' });
    expect(Object.keys(data(refused).errors as object)).toContain('name');
  });

  it('admits each call of a batch on its own: past the limit, the later calls of the batch get 429', async () => {
    for (let attempt = 1; ; attempt++) {
      const limited = await keyWith(['modules:*'], { tier: 'free', rate_limit_per_minute: 3 });
      const { trpc, seen } = client({ authorization: `Bearer ${limited.key}` });
      const minute = Math.floor(Date.now() / 60_000);
      const settled = await Promise.allSettled(Array.from({ length: 5 }, () => trpc.listModules.query({})));
      // A batch that straddled two rate-limit windows is tried again with a fresh key.
      if (Math.floor(Date.now() / 60_000) !== minute && attempt < 3) continue;
      expect(seen).toHaveLength(1);
      expect(settled.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
      const refused = (settled[3] as PromiseRejectedResult).reason as TRPCClientError<AppRouter>;
      expect(data(refused)).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429, error: 'rate_limit_exceeded', limit: 3, remaining: 0 });
      expect(data(refused).retry_after).toBeGreaterThan(0);
      const answer = seen[0] as Seen;
      // Calls that disagree make a 207, as tRPC does; the headers are those of the last admission.
      expect(answer.status).toBe(207);
      expect(answer.headers.get('x-ratelimit-limit')).toBe('3');
      expect(answer.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(answer.headers.get('retry-after')).toBe(String(data(refused).retry_after));
      expect(answer.headers.get('ratelimit-policy')).toBe('"minute";q=3;w=60');
      return;
    }
  });

  it('replays an idempotent mutation with its stored reply, and refuses one key for several calls', async () => {
    const idempotencyKey = `trpc-${crypto.randomUUID()}`;
    const { trpc, seen } = client({ authorization: `Bearer ${server.key}`, 'idempotency-key': idempotencyKey }, { batch: false });
    const first = await trpc.createModule.mutate({ name: `Once ${idempotencyKey}`, fields: [] });
    const again = await trpc.createModule.mutate({ name: `Once ${idempotencyKey}`, fields: [] });
    expect(again).toEqual(first);
    expect(seen.map((answer) => answer.headers.get('idempotent-replayed'))).toEqual([null, 'true']);
    const listed = await call(server, 'GET', '/modules?limit=100');
    expect(listed.body.data.filter((module: { name: string }) => module.name === `Once ${idempotencyKey}`)).toHaveLength(1);
    // The same key with another input is the API's 422.
    const reused = await failure(trpc.createModule.mutate({ name: 'Another', fields: [] }));
    expect(data(reused)).toMatchObject({ error: 'idempotency_key_reused', httpStatus: 422 });

    const { trpc: batched } = client({ authorization: `Bearer ${server.key}`, 'idempotency-key': `trpc-${crypto.randomUUID()}` });
    const both = await Promise.allSettled([batched.createModule.mutate({ name: 'A', fields: [] }), batched.createModule.mutate({ name: 'B', fields: [] })]);
    for (const result of both) {
      expect(result.status).toBe('rejected');
      expect(data((result as PromiseRejectedResult).reason)).toMatchObject({ error: 'bad_request', httpStatus: 400 });
    }
    const after = await call(server, 'GET', '/modules?limit=100');
    expect(after.body.data.filter((module: { name: string }) => module.name === 'A' || module.name === 'B')).toHaveLength(0);
  });

  it("answers 404 for another workspace's module, as REST does", async () => {
    const other = await createWorkspace(server.database.sql, { name: 'Other' });
    const theirs = await createModule({ url: server.url, key: other.key });
    const { trpc } = client({ authorization: `Bearer ${server.key}` });
    const error = await failure(trpc.getModule.query({ module_id: theirs.id }));
    // The envelope is typed on the client: `error.data.error` is the API's code.
    expect(error.data?.error).toBe('not_found');
    expect(data(error)).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404, error: 'not_found' });
    const write = await failure(trpc.createRecord.mutate({ module_id: theirs.id, data: {} }));
    expect(data(write)).toMatchObject({ httpStatus: 404, error: 'not_found' });
  });

  it('counts a batch of 10 as 10 calls: ten admissions, ten access-log entries, ten in usage', async () => {
    const counted = await keyWith(['modules:read']);
    const { trpc, seen } = client({ authorization: `Bearer ${counted.key}`, 'x-request-id': `batch-${crypto.randomUUID()}` });
    const lists = await Promise.all(Array.from({ length: 10 }, () => trpc.listModules.query({ limit: 1 })));
    expect(lists).toHaveLength(10);
    expect(seen).toHaveLength(1);
    const answer = seen[0] as Seen;
    const limit = Number(answer.headers.get('x-ratelimit-limit'));
    expect(Number(answer.headers.get('x-ratelimit-remaining'))).toBe(limit - 10);
    await server.app.flush();
    const logged = await server.database.sql<{ request_id: string; path: string; status: number; method: string }[]>`
      select request_id, path, status, method from access_logs where key_id = ${counted.id} order by request_id`;
    const requestId = answer.headers.get('x-request-id');
    expect(logged).toHaveLength(10);
    expect(new Set(logged.map((entry) => entry.request_id))).toEqual(new Set(Array.from({ length: 10 }, (_, index) => `${requestId}-${index}`)));
    for (const entry of logged) expect(entry).toMatchObject({ path: '/api/trpc/listModules', status: 200, method: 'GET' });
    const usage = await call(server, 'GET', `/api-keys/${counted.id}/usage?granularity=minute`);
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body.total_requests).toBe(10);
  });

  it('refuses a batch of more than 50 calls whole, as one counted call, before any of it runs', async () => {
    const capped = await keyWith(['modules:*']);
    const { trpc, seen } = client({ authorization: `Bearer ${capped.key}` });
    const settled = await Promise.allSettled(Array.from({ length: 51 }, (_, i) => trpc.createModule.mutate({ name: `Capped ${i}`, fields: [] })));
    for (const result of settled) {
      expect(result.status).toBe('rejected');
      expect(data((result as PromiseRejectedResult).reason)).toMatchObject({ error: 'bad_request', httpStatus: 400, message: 'A batch takes at most 50 calls, not 51.' });
    }
    expect(seen.map((answer) => answer.status)).toEqual([400]);
    expect(seen[0]?.headers.get('x-ratelimit-remaining')).toBe(String(Number(seen[0]?.headers.get('x-ratelimit-limit')) - 1));
    const listed = await call(server, 'GET', '/modules?limit=100');
    expect(listed.body.data.filter((module: { name: string }) => module.name.startsWith('Capped '))).toHaveLength(0);
    // Fifty calls are one batch still.
    const fifty = await Promise.all(Array.from({ length: 50 }, () => trpc.listModules.query({ limit: 1 })));
    expect(fifty).toHaveLength(50);
  });

  it('logs a request that no call could answer (the database unreachable while admitting) with its 503', async () => {
    const entries: AccessLogEntry[] = [];
    const unreachable = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const down = await startTestServer({
      gatekeeper: { admitKey: unreachable, admitAddress: unreachable },
      requestLog: { record: (entry) => void entries.push(entry), flush: async () => {}, close: async () => {} },
    });
    try {
      const response = await fetch(`${down.url}/api/trpc/listModules`, { headers: { authorization: `Bearer ${down.key}` } });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: 'service_unavailable' });
      expect(entries).toMatchObject([{ path: '/api/trpc', status: 503, requestId: response.headers.get('x-request-id') }]);
    } finally {
      await down.close();
    }
  });

  it('answers an unknown procedure with 404, a mutation sent as a query with 405, and bad input with 400', async () => {
    const response = await fetch(`${server.url}/api/trpc/nope,createModule?batch=1&input=${encodeURIComponent('{}')}`, { headers: { authorization: `Bearer ${server.key}` } });
    const body = (await response.json()) as { error: { data: Record<string, unknown> } }[];
    expect(body.map((slot) => slot.error.data.error)).toEqual(['not_found', 'method_not_allowed']);
    expect(response.status).toBe(207);
    // An input must be an object, as a REST body must; unreadable JSON is a 400 in each call.
    const scalar = await fetch(`${server.url}/api/trpc/listModules?input=${encodeURIComponent('"abc"')}`, { headers: { authorization: `Bearer ${server.key}` } });
    expect(scalar.status).toBe(400);
    expect(((await scalar.json()) as { error: { data: Record<string, unknown> } }).error.data).toMatchObject({ error: 'bad_request', message: 'The input of listModules must be a JSON object.' });
    const broken = await fetch(`${server.url}/api/trpc/listModules,getModule?batch=1&input=%7B`, { headers: { authorization: `Bearer ${server.key}` } });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { data: Record<string, unknown> } }[]).map((slot) => slot.error.data.error)).toEqual(['bad_request', 'bad_request']);
  });
});
