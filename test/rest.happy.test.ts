import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('modules and records over plain HTTP', () => {
  it('runs the whole lifecycle with the documented statuses', async () => {
    const created = await call(server, 'POST', '/modules', {
      body: {
        name: 'Contacts',
        description: 'People',
        fields: [
          { name: 'email', type: 'string', required: true },
          { name: 'age', type: 'number' },
          { name: 'vip', type: 'boolean' },
          { name: 'born', type: 'date' },
          { name: 'extra', type: 'json' },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(created.body).toMatchObject({ name: 'Contacts', description: 'People' });
    expect(created.body.id).toMatch(/^mod_[0-9a-z]{26}$/);
    expect(created.body.fields[1]).toEqual({ name: 'age', type: 'number', required: false });
    expect(created.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const moduleId = created.body.id as string;

    const fetched = await call(server, 'GET', `/modules/${moduleId}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);

    const renamed = await call(server, 'PATCH', `/modules/${moduleId}`, { body: { name: 'People', description: null } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: moduleId, name: 'People', description: null });
    expect(Date.parse(renamed.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.body.updated_at));

    const record = await call(server, 'POST', `/modules/${moduleId}/records`, {
      body: { data: { email: 'ada@example.com', age: 36, vip: true, born: '1815-12-10', extra: { a: [1, 2] } } },
    });
    expect(record.status).toBe(201);
    expect(record.body.id).toMatch(/^rec_[0-9a-z]{26}$/);
    expect(record.body).toMatchObject({ module_id: moduleId, data: { email: 'ada@example.com', age: 36, vip: true } });
    const recordId = record.body.id as string;

    const got = await call(server, 'GET', `/modules/${moduleId}/records/${recordId}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(record.body);

    const patched = await call(server, 'PATCH', `/modules/${moduleId}/records/${recordId}`, { body: { data: { age: 37, vip: null } } });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toEqual({ email: 'ada@example.com', age: 37, born: '1815-12-10', extra: { a: [1, 2] } });

    const list = await call(server, 'GET', `/modules/${moduleId}/records`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 1, limit: 25, page: 1, has_more: false, next_cursor: null });
    expect(list.body.data).toEqual([patched.body]);

    const removed = await call(server, 'DELETE', `/modules/${moduleId}/records/${recordId}`);
    expect(removed.status).toBe(204);
    expect(removed.text).toBe('');
    expect((await call(server, 'GET', `/modules/${moduleId}/records/${recordId}`)).status).toBe(404);

    const deleted = await call(server, 'DELETE', `/modules/${moduleId}`);
    expect(deleted.status).toBe(204);
    expect((await call(server, 'GET', `/modules/${moduleId}`)).status).toBe(404);
  });

  it('deleting a module deletes its records', async () => {
    const module = await call(server, 'POST', '/modules', { body: { name: 'Doomed', fields: [{ name: 'n', type: 'number' }] } });
    const record = await call(server, 'POST', `/modules/${module.body.id}/records`, { body: { data: { n: 1 } } });
    expect(record.status).toBe(201);
    expect((await call(server, 'DELETE', `/modules/${module.body.id}`)).status).toBe(204);
    const [row] = await server.database.sql`select count(*)::int as n from records where id = ${record.body.id}`;
    expect(row?.n).toBe(0);
  });

  it('accepts the key as Bearer, ApiKey or X-API-Key', async () => {
    for (const headers of <Record<string, string>[]>[
      { authorization: `Bearer ${server.key}` },
      { authorization: `ApiKey ${server.key}` },
      { 'x-api-key': server.key },
    ]) {
      const response = await call(server, 'GET', '/modules', { key: null, headers });
      expect(response.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('echoes a valid X-Request-ID and replaces an invalid one', async () => {
    const mine = await call(server, 'GET', '/modules', { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-abc-123');
    const tooLong = await call(server, 'GET', '/modules', { headers: { 'x-request-id': 'x'.repeat(129) } });
    expect(tooLong.headers.get('x-request-id')).toMatch(/^req_[0-9a-z]{26}$/);
    const none = await call(server, 'GET', '/nope', { key: null });
    expect(none.headers.get('x-request-id')).toMatch(/^req_[0-9a-z]{26}$/);
    expect(none.body.request_id).toBe(none.headers.get('x-request-id'));
  });

  it('adds fields to a module, refusing changes that would break existing records', async () => {
    const module = await call(server, 'POST', '/modules', { body: { name: 'Evolving', fields: [{ name: 'a', type: 'string' }] } });
    const id = module.body.id;
    expect((await call(server, 'POST', `/modules/${id}/records`, { body: { data: { a: 'x' } } })).status).toBe(201);

    const added = await call(server, 'PATCH', `/modules/${id}`, {
      body: { fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'number' }] },
    });
    expect(added.status).toBe(200);
    expect(added.body.fields.map((f: { name: string }) => f.name)).toEqual(['a', 'b']);

    const retyped = await call(server, 'PATCH', `/modules/${id}`, { body: { fields: [{ name: 'a', type: 'number' }, { name: 'b', type: 'number' }] } });
    expect(retyped.status).toBe(422);
    expect(retyped.body.errors.fields[0]).toContain('cannot change type');

    const requiredNew = await call(server, 'PATCH', `/modules/${id}`, {
      body: { fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'number' }, { name: 'c', type: 'string', required: true }] },
    });
    expect(requiredNew.status).toBe(409);
    expect(requiredNew.body.error).toBe('conflict');
  });
});
