import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createModule, startTestServer, type TestServer } from './support/server.ts';

/**
 * A replay is the same answer as the first, headers included (Stripe replays the whole response):
 * the headers that belong to the answer are stored with its status and body. Only what each
 * request gets anew differs: its request ID, its rate-limit fields, and the replay marker.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const PER_REQUEST = /^(x-request-id|x-ratelimit-.*|ratelimit|ratelimit-policy|idempotent-replayed|date|connection|keep-alive|content-length)$/;

/** The headers of an answer that are the answer's own, as name → value. */
function answerHeaders(response: { headers: Headers }): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => !PER_REQUEST.test(name)));
}

function twice(method: string, path: string, body: unknown): Promise<[ApiResponse, ApiResponse]> {
  const headers = { 'idempotency-key': randomUUID() };
  return call(server, method, path, { body, headers }).then(async (first) => [first, await call(server, method, path, { body, headers })]);
}

describe('an idempotent replay keeps the headers of the answer', () => {
  it('a create refused by the module (405) replays its Allow, even after the module changed', async () => {
    const module = await createModule(server, [{ name: 'n', type: 'number' }]);
    expect((await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: ['list'] } })).status).toBe(200);
    const key = { 'idempotency-key': randomUUID() };
    const first = await call(server, 'POST', `/modules/${module.id}/records`, { body: { data: { n: 1 } }, headers: key });
    expect(first.status).toBe(405);
    expect(first.headers.get('allow')).toBe('GET');

    // The stored answer stands for the key, whatever happens to the module after it.
    expect((await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: ['list', 'get'] } })).status).toBe(200);
    const again = await call(server, 'POST', `/modules/${module.id}/records`, { body: { data: { n: 1 } }, headers: key });
    expect(again.status).toBe(405);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('allow')).toBe('GET');
    expect(again.text).toBe(first.text);
    expect(answerHeaders(again)).toEqual(answerHeaders(first));
    // Per-request headers are the replay's own.
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(again.headers.get('x-ratelimit-remaining')).not.toBeNull();
  });

  it('an empty Allow (every method of the path switched off) is replayed as it was sent', async () => {
    const module = await createModule(server, [{ name: 'n', type: 'number' }]);
    const record = await call(server, 'POST', `/modules/${module.id}/records`, { body: { data: { n: 1 } } });
    expect(record.status).toBe(201);
    expect((await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: ['list', 'create'] } })).status).toBe(200);
    const [first, again] = await twice('PATCH', `/modules/${module.id}/records/${record.body.id}`, { data: { n: 2 } });
    expect(first.status).toBe(405);
    expect(first.headers.get('allow')).toBe('');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('allow')).toBe('');
    expect(answerHeaders(again)).toEqual(answerHeaders(first));
  });

  it('a 201, a 201 with a secret and a 204 replay with the headers of their first answer; only the answer’s own are stored', async () => {
    const module = await createModule(server, [{ name: 'n', type: 'number' }]);
    const [created, createdAgain] = await twice('POST', `/modules/${module.id}/records`, { data: { n: 1 } });
    expect(created.status).toBe(201);
    expect(createdAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(answerHeaders(createdAgain)).toEqual(answerHeaders(created));

    const [issued, issuedAgain] = await twice('POST', '/api-keys', { name: `replayed ${randomUUID()}`, scopes: ['modules:read'] });
    expect(issued.status).toBe(201);
    expect(issuedAgain.headers.get('cache-control')).toBe('no-store');
    expect(answerHeaders(issuedAgain)).toEqual(answerHeaders(issued));

    const [deleted, deletedAgain] = await twice('DELETE', `/modules/${module.id}/records/${created.body.id}`, undefined);
    expect(deleted.status).toBe(204);
    expect(deletedAgain.status).toBe(204);
    expect(answerHeaders(deletedAgain)).toEqual(answerHeaders(deleted));

    await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: ['get'] } });
    const [refused] = await twice('POST', `/modules/${module.id}/records`, { data: { n: 1 } });
    expect(refused.status).toBe(405);

    // What is stored: the 405's Allow; nothing for the others (the edge adds Cache-Control, request ID and rate limits to each answer).
    const owners = [created, issued, deleted, refused].map((response) => response.headers.get('x-request-id') ?? '');
    const rows = await server.database.sql<{ status: number; response_headers: Record<string, string> | null }[]>`
      select status, response_headers from idempotency_keys where owner in ${server.database.sql(owners)} order by status`;
    expect(rows).toEqual([
      { status: 201, response_headers: null },
      { status: 201, response_headers: null },
      { status: 204, response_headers: null },
      { status: 405, response_headers: { Allow: '' } },
    ]);
  });

  it('over tRPC too: the replayed 405 carries its Allow', async () => {
    const module = await createModule(server, [{ name: 'n', type: 'number' }]);
    await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: ['list', 'get'] } });
    const headers = { authorization: `Bearer ${server.key}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() };
    const send = () =>
      fetch(`${server.url}/api/trpc/createRecord`, { method: 'POST', headers, body: JSON.stringify({ module_id: module.id, data: { n: 1 } }) });
    const first = await send();
    expect(first.status).toBe(405);
    expect(first.headers.get('allow')).toBe('GET');
    const again = await send();
    expect(again.status).toBe(405);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('allow')).toBe('GET');
    expect(await again.text()).toBe(await first.text());
  });
});
