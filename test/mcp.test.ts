import { endpoints } from '@charter/contracts';
import { createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let disabled: RunningServer;
const connected: Client[] = [];
beforeAll(async () => {
  server = await startTestServer({ mcp: true });
  disabled = await listen(createApp({ sql: server.database.sql, logError: () => {}, addressLimitPerMinute: 1_000_000 }), 0);
});
afterAll(async () => {
  for (const client of connected) await client.close();
  await disabled.close(1_000);
  await server.close();
});

/** An MCP client over real HTTP with the API key in a header; `answered` lists each HTTP answer (method and status). */
async function connect(headers: Record<string, string>) {
  const answered: { method: string; status: number }[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/api/v1/mcp`), {
    requestInit: { headers },
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      answered.push({ method: init?.method ?? 'GET', status: response.status });
      return response;
    },
  });
  const client = new Client({ name: 'charter-test', version: '1.0.0' });
  await client.connect(transport);
  connected.push(client);
  // The client then asks for a server-to-client stream (GET); a stateless server has none (405). Counted like any request.
  const deadline = Date.now() + 10_000;
  while (!answered.some((answer) => answer.method === 'GET')) {
    if (Date.now() > deadline) throw new Error('the client never asked for its stream');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { client, answered };
}

async function tool(client: Client, name: string, args: Record<string, unknown>) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (result.content[0] as { type: 'text'; text: string } | undefined)?.text ?? '';
  return { isError: result.isError === true, body: text === '' ? undefined : JSON.parse(text) };
}

async function keyWith(scopes: string[], extra: Record<string, unknown> = {}) {
  const created = await call(server, 'POST', '/api-keys', { body: { name: 'mcp', scopes, ...extra } });
  expect(created.status, created.text).toBe(201);
  return { key: created.body.key as string, id: created.body.id as string };
}

describe('MCP at /api/v1/mcp', () => {
  it('is off unless a setting turns it on', async () => {
    const response = await fetch(`${disabled.url}/api/v1/mcp`, { method: 'POST', headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(404);
  });

  it('refuses a request without a valid key with the API envelope', async () => {
    const response = await fetch(`${server.url}/api/v1/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthorized', request_id: response.headers.get('x-request-id') });
  });

  it('takes one message per request: a JSON-RPC batch, which would run several calls on one admission, is a 400', async () => {
    const message = { jsonrpc: '2.0', method: 'tools/call', params: { name: 'listModules', arguments: {} } };
    const response = await fetch(`${server.url}/api/v1/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify([
        { ...message, id: 1 },
        { ...message, id: 2 },
      ]),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'bad_request', message: 'Send one JSON-RPC message per request, not a batch.' });
  });

  it('generates one tool per endpoint from the contracts, with its hints', async () => {
    const { client } = await connect({ authorization: `Bearer ${server.key}` });
    const { tools } = await client.listTools();
    expect(tools.map((entry) => entry.name).sort()).toEqual(Object.values(endpoints).map((contract) => contract.operationId).sort());
    const byName = new Map(tools.map((entry) => [entry.name, entry]));
    const createRecord = byName.get('createRecord');
    expect(createRecord?.description).toBe(endpoints.createRecord.description);
    expect(createRecord?.inputSchema).toMatchObject({ type: 'object', required: expect.arrayContaining(['module_id', 'data']), additionalProperties: false });
    expect(createRecord?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
    expect(byName.get('listRecords')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.get('deleteRecord')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true });
    expect(byName.get('updateRecord')?.annotations).toMatchObject({ destructiveHint: false, idempotentHint: true });
  });

  it("lists only the tools a narrow key's scopes allow", async () => {
    const module = await createModule(server);
    const narrow = await keyWith(['modules:read', `records:read:${module.id}`]);
    const { client } = await connect({ 'x-api-key': narrow.key });
    const { tools } = await client.listTools();
    expect(tools.map((entry) => entry.name).sort()).toEqual(['getCurrentApiKey', 'getModule', 'getRecord', 'listModules', 'listRecords']);
  });

  it('creates and lists records through the pipeline, with idempotent replay', async () => {
    const module = await createModule(server, [{ name: 'email', type: 'string', required: true }]);
    const { client } = await connect({ authorization: `Bearer ${server.key}` });
    const created = await tool(client, 'createRecord', { module_id: module.id, data: { email: 'ada@example.com' } });
    expect(created.isError).toBe(false);
    expect(created.body).toMatchObject({ module_id: module.id, data: { email: 'ada@example.com' } });
    const listed = await tool(client, 'listRecords', { module_id: module.id });
    expect(listed.body.data.map((record: { id: string }) => record.id)).toEqual([created.body.id]);
    // Validation is the contract's: a missing required field is the API's 422.
    const invalid = await tool(client, 'createRecord', { module_id: module.id, data: {} });
    expect(invalid).toMatchObject({ isError: true, body: { error: 'validation_failed', errors: { 'data.email': expect.any(Array) } } });

    const { client: once } = await connect({ authorization: `Bearer ${server.key}`, 'idempotency-key': `mcp-${crypto.randomUUID()}` });
    const first = await tool(once, 'createRecord', { module_id: module.id, data: { email: 'once@example.com' } });
    const again = await tool(once, 'createRecord', { module_id: module.id, data: { email: 'once@example.com' } });
    expect(again.body).toEqual(first.body);
    const after = await tool(client, 'listRecords', { module_id: module.id });
    expect(after.body.data).toHaveLength(2);
  });

  it('returns a 403 and a 429 as tool errors carrying the API envelope', async () => {
    const narrow = await keyWith(['modules:read']);
    const { client } = await connect({ authorization: `Bearer ${narrow.key}` });
    const denied = await tool(client, 'createModule', { name: 'Nope', fields: [] });
    expect(denied).toMatchObject({ isError: true, body: { error: 'access_denied', required_scopes: ['modules:write'], request_id: expect.any(String) } });

    for (let attempt = 1; ; attempt++) {
      const limited = await keyWith(['modules:*'], { tier: 'free', rate_limit_per_minute: 5 });
      const minute = Math.floor(Date.now() / 60_000);
      const { client: throttled, answered } = await connect({ authorization: `Bearer ${limited.key}` });
      const results = [];
      // initialize, its notification and the stream request took three of the five.
      for (let i = 0; i < 3; i++) results.push(await tool(throttled, 'listModules', {}));
      if (Math.floor(Date.now() / 60_000) !== minute && attempt < 3) continue;
      expect(answered).toHaveLength(6);
      expect(results.map((result) => result.isError)).toEqual([false, false, true]);
      expect(results[2]?.body).toMatchObject({ error: 'rate_limit_exceeded', limit: 5, remaining: 0, retry_after: expect.any(Number) });
      // Each request is one access-log entry; a tool call's names its tool and its own status.
      await server.app.flush();
      const logged = await server.database.sql<{ method: string; path: string; status: number }[]>`
        select method, path, status from access_logs where key_id = ${limited.id} order by path, status`;
      expect(logged.map((entry) => `${entry.method} ${entry.path} ${entry.status}`).sort()).toEqual(
        [
          'POST /api/v1/mcp 200',
          'POST /api/v1/mcp 202',
          'GET /api/v1/mcp 405',
          'POST /api/v1/mcp/listModules 200',
          'POST /api/v1/mcp/listModules 200',
          'POST /api/v1/mcp/listModules 429',
        ].sort(),
      );
      return;
    }
  });

  it("answers 404 for another workspace's module", async () => {
    const other = await createWorkspace(server.database.sql, { name: 'Elsewhere' });
    const theirs = await createModule({ url: server.url, key: other.key });
    const { client } = await connect({ authorization: `Bearer ${server.key}` });
    expect(await tool(client, 'getModule', { module_id: theirs.id })).toMatchObject({ isError: true, body: { error: 'not_found' } });
    expect(await tool(client, 'listRecords', { module_id: theirs.id })).toMatchObject({ isError: true, body: { error: 'not_found' } });
  });
});
