import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from '../support/server.ts';

// Found by Schemathesis' stateful phase (use after free): after DELETE /api-keys/{key_id} the
// key answered 404, but its usage still answered 200.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('a revoked key', () => {
  it('is gone with its usage (404), like the key itself', async () => {
    const created = await call(server, 'POST', '/api-keys', { body: { name: 'Short-lived', scopes: ['modules:read'] } });
    expect(created.status).toBe(201);
    expect((await call(server, 'GET', `/api-keys/${created.body.id}/usage`)).status).toBe(200);
    expect((await call(server, 'DELETE', `/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await call(server, 'GET', `/api-keys/${created.body.id}`)).status).toBe(404);
    const usage = await call(server, 'GET', `/api-keys/${created.body.id}/usage`);
    expect(usage.status).toBe(404);
    expect(usage.body.error).toBe('not_found');
  });
});
