import { type EndpointContract, endpoints } from '@charter/contracts';
import { createWorkspace, generateApiKey } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createModule, startTestServer, type TestServer } from './support/server.ts';

/**
 * One suite of authentication and authorisation cases, run against every route of the API.
 * A new endpoint is covered the moment its contract is added to `endpoints`.
 */
let server: TestServer;
let ids: Record<string, string>;
const badKeys: Record<string, string | null> = {};
let otherWorkspaceKey: string;
let otherWorkspaceKeyId: string;
let unrelatedScopeKey: string;
let usageOnlyKey: string;

beforeAll(async () => {
  server = await startTestServer();
  // Created first, so that the changes below give it deliveries.
  const webhookId = (await call(server, 'POST', '/webhooks', { body: { url: 'https://example.com/hook', events: ['*'] } })).body.id;
  const moduleId = (await createModule(server, [{ name: 'email', type: 'string' }])).id;
  const recordId = (await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { email: 'a@b.c' } } })).body.id;
  const keyId = (await call(server, 'POST', '/api-keys', { body: { name: 'target', scopes: ['modules:read'] } })).body.id;
  const deliveryId = (await call(server, 'GET', `/webhooks/${webhookId}/deliveries`)).body.data[0].id;
  ids = { module_id: moduleId, record_id: recordId, key_id: keyId, webhook_id: webhookId, delivery_id: deliveryId };

  const valid = generateApiKey().plaintext;
  const expired = await call(server, 'POST', '/api-keys', { body: { name: 'expired', scopes: ['*'] } });
  await server.database.sql`update api_keys set expires_at = now() - interval '1 minute' where id = ${expired.body.id}`;
  const revoked = await call(server, 'POST', '/api-keys', { body: { name: 'revoked', scopes: ['*'] } });
  await call(server, 'DELETE', `/api-keys/${revoked.body.id}`);
  Object.assign(badKeys, {
    'no key': null,
    'malformed key': 'hunter2',
    'bad checksum': valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A'),
    'truncated key': server.key.slice(0, -3),
    'unknown key': valid,
    'expired key': expired.body.key,
    'revoked key': revoked.body.key,
  });
  const otherWorkspace = await createWorkspace(server.database.sql, { name: 'Other tenant' });
  otherWorkspaceKey = otherWorkspace.key;
  otherWorkspaceKeyId = otherWorkspace.keyId;
  // The other workspace asks for the first one's module: its own access log then names that id.
  expect((await call(server, 'GET', `/modules/${moduleId}`, { key: otherWorkspaceKey })).status).toBe(404);
  unrelatedScopeKey = (await call(server, 'POST', '/api-keys', { body: { name: 'webhooks only', scopes: ['webhooks:read'] } })).body.key;
  usageOnlyKey = (await call(server, 'POST', '/api-keys', { body: { name: 'usage only', scopes: ['usage:read'] } })).body.key;
});
afterAll(() => server.close());

const routes = Object.values(endpoints) as EndpointContract[];

function request(contract: EndpointContract, key: string | null): Promise<ApiResponse> {
  const path = contract.path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] as string);
  const example = (contract.input.meta() as { example?: unknown } | undefined)?.example;
  const body = contract.method === 'POST' || contract.method === 'PATCH' ? (example ?? {}) : undefined;
  return call(server, contract.method, path, { key, ...(body === undefined ? {} : { body }) });
}

describe.each(routes.map((contract) => [`${contract.method} ${contract.path}`, contract] as const))('%s', (_, contract) => {
  it('gives every kind of bad key the identical 401', async () => {
    const answers = await Promise.all(Object.entries(badKeys).map(async ([kind, key]) => [kind, await request(contract, key)] as const));
    const [, reference] = answers[0]!;
    for (const [kind, response] of answers) {
      expect(response.status, kind).toBe(401);
      expect(response.headers.get('www-authenticate'), kind).toBe('Bearer realm="api"');
      expect({ ...response.body, request_id: undefined }, kind).toEqual({ ...reference.body, request_id: undefined });
      expect(response.body).toMatchObject({ error: 'unauthorized', message: 'A valid API key is required.' });
    }
  });

  it('answers 403 naming the required scopes to a key without them (any valid key: 200)', async () => {
    if (contract.access === 'any-key') {
      // The one route any valid key may call: it shows that key its own key and workspace.
      for (const key of [unrelatedScopeKey, usageOnlyKey]) expect((await request(contract, key)).status).toBe(200);
      return;
    }
    expect(contract.scopes.length).toBeGreaterThan(0);
    const unrelated = contract.scopes.some((scope) => scope.startsWith('webhooks:')) ? usageOnlyKey : unrelatedScopeKey;
    const response = await request(contract, unrelated);
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ error: 'access_denied', required_scopes: contract.scopes });
    expect(response.body.message).toBe(`Insufficient permissions. Required scope: ${contract.scopes.join(', ')}`);
  });

  it("never shows or changes another workspace's data", async () => {
    if (contract.path.includes('{')) {
      const response = await request(contract, otherWorkspaceKey);
      expect(response.status).toBe(404);
      expect(response.body.error).toBe('not_found');
    } else {
      // Write out the access log first: the first workspace's calls are then in it, where a leak would show.
      await server.app.flush();
      const answer = await request(contract, otherWorkspaceKey);
      expect(answer.status).toBeLessThan(300);
      let shown: unknown = answer.body;
      if (contract.path === '/access-logs') {
        // The other workspace's log lists its own calls: the 404 probes above, whose paths name the
        // first workspace's ids because it asked for them. Those are its own data; every entry must be.
        const entries = answer.body.data as { key_id: string; path: string }[];
        expect(entries.map((entry) => entry.key_id)).toEqual(entries.map(() => otherWorkspaceKeyId));
        expect(entries.some((entry) => entry.path.includes(ids.module_id as string))).toBe(true);
        shown = entries.map(({ path: _ownRequest, ...entry }) => entry);
      }
      for (const id of Object.values(ids)) expect(JSON.stringify(shown)).not.toContain(id);
    }
  });
});

it('the suite covers every route of the API', () => {
  expect(routes.length).toBe(Object.keys(endpoints).length);
  expect(routes.length).toBeGreaterThanOrEqual(16);
});
