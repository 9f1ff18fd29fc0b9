import { endpoints } from '@charter/contracts';
import { createWorkspace } from '@charter/server';
import type { AppRouter } from '@charter/server/trpc';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from './support/server.ts';

/** `GET /api-keys/current`: any valid key learns its own key and workspace, and nothing else. */
let server: TestServer;
const clients: Client[] = [];
beforeAll(async () => {
  server = await startTestServer({ mcp: true });
});
afterAll(async () => {
  for (const client of clients) await client.close();
  await server.close();
});

async function keyWith(scopes: string[], name = 'narrow') {
  const created = await call(server, 'POST', '/api-keys', { body: { name, scopes } });
  expect(created.status, created.text).toBe(201);
  return { key: created.body.key as string, id: created.body.id as string };
}

describe('GET /api-keys/current', () => {
  it('answers any valid key, whatever its scopes, with its own key (no secret) and its workspace', async () => {
    const narrow = await keyWith(['webhooks:read'], 'webhooks only');
    const response = await call(server, 'GET', '/api-keys/current', { key: narrow.key });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({
      key: { id: narrow.id, name: 'webhooks only', scopes: ['webhooks:read'], last4: narrow.key.slice(-4) },
      workspace: { id: server.workspaceId, name: 'Test workspace' },
      secret_in_grace: false,
    });
    expect(narrow.key.startsWith(response.body.key.prefix)).toBe(true);
    expect(response.text).not.toContain(narrow.key);
    expect(response.body.key).not.toHaveProperty('key');
    // The same key may not read keys: the exception covers this one route only.
    expect((await call(server, 'GET', `/api-keys/${narrow.id}`, { key: narrow.key })).status).toBe(403);
  });

  it('is not read as a key id: the static path wins over /api-keys/{key_id}', async () => {
    const response = await call(server, 'GET', '/api-keys/current');
    expect(response.status, response.text).toBe(200);
    expect(response.body.workspace.id).toBe(server.workspaceId);
    expect(response.body.key.scopes).toEqual(['*']);
  });

  it('takes GET alone: another method is a 405 whose Allow names GET, not the methods of /api-keys/{key_id}', async () => {
    for (const method of ['PATCH', 'DELETE', 'POST', 'OPTIONS']) {
      const response = await call(server, method, '/api-keys/current', method === 'PATCH' || method === 'POST' ? { body: {} } : {});
      expect(response.status, `${method}: ${response.text}`).toBe(405);
      expect(response.headers.get('allow'), method).toBe('GET');
    }
    // The key ids keep their own methods.
    const listed = await call(server, 'GET', '/api-keys');
    const keyPath = `/api-keys/${listed.body.data[0].id}`;
    const options = await call(server, 'OPTIONS', keyPath);
    expect(options.status).toBe(405);
    expect(options.headers.get('allow')).toBe('GET, PATCH, DELETE');
  });

  it('answers a previous secret in its grace period, and says so', async () => {
    const key = await keyWith(['records:read'], 'rotated');
    const rotated = await call(server, 'POST', `/api-keys/${key.id}/rotate`, { body: { grace_period_hours: 1 } });
    expect(rotated.status, rotated.text).toBe(200);
    const old = await call(server, 'GET', '/api-keys/current', { key: key.key });
    expect(old.status, old.text).toBe(200);
    expect(old.body).toMatchObject({ key: { id: key.id, last4: rotated.body.key.slice(-4) }, secret_in_grace: true });
    const fresh = await call(server, 'GET', '/api-keys/current', { key: rotated.body.key });
    expect(fresh.body).toMatchObject({ key: { id: key.id }, secret_in_grace: false });
  });

  it("never shows another workspace's key or workspace", async () => {
    const other = await createWorkspace(server.database.sql, { name: 'Other tenant' });
    const theirs = await call(server, 'GET', '/api-keys/current', { key: other.key });
    expect(theirs.status).toBe(200);
    expect(theirs.body.key.id).toBe(other.keyId);
    expect(theirs.body.workspace).toEqual({ id: other.workspaceId, name: 'Other tenant' });
    const ours = await call(server, 'GET', '/api-keys/current');
    expect(ours.body.workspace).toEqual({ id: server.workspaceId, name: 'Test workspace' });
    expect(JSON.stringify(theirs.body)).not.toContain(server.workspaceId);
  });

  it('answers 401 without a key, and 422 to an unknown parameter', async () => {
    const anonymous = await call(server, 'GET', '/api-keys/current', { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: 'unauthorized' });
    const odd = await call(server, 'GET', '/api-keys/current?key_id=x');
    expect(odd.status).toBe(422);
    expect(odd.body).toMatchObject({ error: 'validation_failed' });
  });

  it('is in the document with an empty scope list, and in the 3.0 document with x-required-scopes: []', async () => {
    const document = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
    const operation = document.paths['/api-keys/current'].get;
    expect(operation.operationId).toBe('getCurrentApiKey');
    expect(operation.security).toEqual([{ BearerAuth: [] }, { ApiKeyAuth: [] }]);
    expect(Object.keys(operation.responses)).not.toContain('403');
    // Every other operation still names its scopes.
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { security?: Record<string, string[]>[] }>>)) {
      for (const [method, other] of Object.entries(item)) {
        if (path === '/api-keys/current' || !other.security?.length) continue;
        expect(other.security[0]?.BearerAuth?.length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
    const legacy = await (await fetch(`${server.url}/api/v1/openapi-3.0.json`)).json();
    expect(legacy.paths['/api-keys/current'].get['x-required-scopes']).toEqual([]);
    expect(legacy.paths['/api-keys/{key_id}'].get['x-required-scopes']).toEqual(['api-keys:read']);
  });

  it('is the only contract served to any key', () => {
    const open = Object.values(endpoints).filter((contract) => contract.scopes.length === 0);
    expect(open.map((contract) => contract.operationId)).toEqual(['getCurrentApiKey']);
    expect(open.every((contract) => 'access' in contract && contract.access === 'any-key')).toBe(true);
  });

  it('works over tRPC', async () => {
    const narrow = await keyWith(['usage:read']);
    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${server.url}/api/trpc`, headers: () => ({ authorization: `Bearer ${narrow.key}` }) })] });
    const current = await trpc.getCurrentApiKey.query({});
    expect(current.key.id).toBe(narrow.id);
    expect(current.workspace.id).toBe(server.workspaceId);
    expect(current.secret_in_grace).toBe(false);
  });

  it('is listed and callable over MCP for a narrow key', async () => {
    const narrow = await keyWith(['usage:read']);
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/api/v1/mcp`), { requestInit: { headers: { authorization: `Bearer ${narrow.key}` } } });
    const client = new Client({ name: 'charter-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('getCurrentApiKey');
    expect(names).not.toContain('getApiKey');
    const result = (await client.callTool({ name: 'getCurrentApiKey', arguments: {} })) as CallToolResult;
    expect(result.isError).not.toBe(true);
    const body = JSON.parse((result.content[0] as { text: string }).text);
    expect(body.key.id).toBe(narrow.id);
    expect(body.workspace.id).toBe(server.workspaceId);
  });
});
