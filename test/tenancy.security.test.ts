import { createWorkspace } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let other: { url: string; key: string };
let moduleId: string;
let recordId: string;

beforeAll(async () => {
  server = await startTestServer();
  const workspace = await createWorkspace(server.database.sql, { name: 'Another tenant' });
  other = { url: server.url, key: workspace.key };
  moduleId = (await createModule(server, [{ name: 'secret', type: 'string' }])).id;
  recordId = (await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { secret: 'ours' } } })).body.id;
});
afterAll(() => server.close());

describe("a workspace's key never sees another workspace's data", () => {
  it('answers 404, not 403, for every route on the other workspace\'s module and record', async () => {
    const attempts: [string, string, unknown?][] = [
      ['GET', `/modules/${moduleId}`],
      ['PATCH', `/modules/${moduleId}`, { name: 'Stolen' }],
      ['DELETE', `/modules/${moduleId}`],
      ['GET', `/modules/${moduleId}/records`],
      ['POST', `/modules/${moduleId}/records`, { data: { secret: 'theirs' } }],
      ['GET', `/modules/${moduleId}/records/${recordId}`],
      ['PATCH', `/modules/${moduleId}/records/${recordId}`, { data: { secret: 'changed' } }],
      ['DELETE', `/modules/${moduleId}/records/${recordId}`],
    ];
    for (const [method, path, body] of attempts) {
      const response = await call(other, method, path, body === undefined ? {} : { body });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body.error).toBe('not_found');
    }
  });

  it('lists only its own modules', async () => {
    const theirs = await call(other, 'GET', '/modules');
    expect(theirs.body.data.map((m: { id: string }) => m.id)).not.toContain(moduleId);
    expect(theirs.body.total).toBe(0);
  });

  it('left the data untouched', async () => {
    const record = await call(server, 'GET', `/modules/${moduleId}/records/${recordId}`);
    expect(record.status).toBe(200);
    expect(record.body.data).toEqual({ secret: 'ours' });
  });

  it('may reuse a module name another workspace already has', async () => {
    const mine = await call(server, 'POST', '/modules', { body: { name: 'Shared name' } });
    const theirs = await call(other, 'POST', '/modules', { body: { name: 'Shared name' } });
    expect([mine.status, theirs.status]).toEqual([201, 201]);
  });
});
