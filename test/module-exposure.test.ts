import { ApiError, buildRouter, createWorkspace, postgresGatekeeper } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const fields = [{ name: 'email', type: 'string', required: true }];

async function newModule(extra: Record<string, unknown> = {}) {
  const response = await call(server, 'POST', '/modules', { body: { name: `Exposed ${Math.random().toString(36).slice(2)}`, fields, ...extra } });
  expect(response.status, response.text).toBe(201);
  return response.body as { id: string; api_enabled: boolean; api_methods: string[] };
}

async function newRecord(moduleId: string): Promise<string> {
  const response = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { email: 'ada@example.com' } } });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

function expectError(response: ApiResponse, status: number, code: string) {
  expect(response.status, response.text).toBe(status);
  expect(response.body.error).toBe(code);
  expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
}

/** Every records endpoint of a module, as (method, path) pairs. */
function recordCalls(moduleId: string, recordId: string) {
  return {
    list: () => call(server, 'GET', `/modules/${moduleId}/records`),
    create: () => call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { email: 'grace@example.com' } } }),
    get: () => call(server, 'GET', `/modules/${moduleId}/records/${recordId}`),
    update: () => call(server, 'PATCH', `/modules/${moduleId}/records/${recordId}`, { body: { data: { email: 'ada@lovelace.dev' } } }),
    delete: () => call(server, 'DELETE', `/modules/${moduleId}/records/${recordId}`),
  };
}

describe('exposure per module', () => {
  it('a new module serves every records endpoint, and says so', async () => {
    const module = await newModule();
    expect(module.api_enabled).toBe(true);
    expect(module.api_methods).toEqual(['list', 'get', 'create', 'update', 'delete']);
    const listed = await call(server, 'GET', '/modules?fields=api_enabled,api_methods');
    expect(listed.body.data.find((item: { id: string }) => item.id === module.id)).toEqual({
      id: module.id,
      api_enabled: true,
      api_methods: ['list', 'get', 'create', 'update', 'delete'],
    });
  });

  it('a switched-off method answers 405 with Allow listing what is on for that path', async () => {
    const module = await newModule();
    const recordId = await newRecord(module.id);
    const patched = await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: ['get', 'list'] } });
    expect(patched.status, patched.text).toBe(200);
    // Stored and shown in one order, whatever order they were given in.
    expect(patched.body.api_methods).toEqual(['list', 'get']);

    const calls = recordCalls(module.id, recordId);
    expect((await calls.list()).status).toBe(200);
    expect((await calls.get()).status).toBe(200);
    const create = await calls.create();
    expectError(create, 405, 'method_not_allowed');
    expect(create.headers.get('allow')).toBe('GET');
    for (const refused of [await calls.update(), await calls.delete()]) {
      expectError(refused, 405, 'method_not_allowed');
      expect(refused.headers.get('allow')).toBe('GET');
    }
    // Nothing was written by the refused calls.
    const after = await call(server, 'GET', `/modules/${module.id}/records`);
    expect(after.body.data).toHaveLength(1);
    expect(after.body.data[0].data).toEqual({ email: 'ada@example.com' });

    // The other way round: only writes on a record, none on the collection.
    await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: ['update', 'delete'] } });
    const list = await calls.list();
    expectError(list, 405, 'method_not_allowed');
    expect(list.headers.get('allow')).toBe('');
    const get = await calls.get();
    expectError(get, 405, 'method_not_allowed');
    expect(get.headers.get('allow')).toBe('PATCH, DELETE');
    expect((await calls.update()).status).toBe(200);
  });

  it('a disabled module\'s records answer 404 on every endpoint; the module itself stays visible', async () => {
    const module = await newModule();
    const recordId = await newRecord(module.id);
    const patched = await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_enabled: false } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ api_enabled: false, api_methods: ['list', 'get', 'create', 'update', 'delete'] });

    for (const [name, send] of Object.entries(recordCalls(module.id, recordId))) {
      const response = await send();
      expect(response.status, `${name}: ${response.text}`).toBe(404);
      expect(response.body.error).toBe('not_found');
      expect(response.body.message).toContain('api_enabled is false');
    }
    expect((await call(server, 'GET', `/modules/${module.id}`)).body.api_enabled).toBe(false);

    // Turned back on: the record is there, untouched by the refused update and delete.
    const enabled = await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_enabled: true } });
    expect(enabled.body.api_enabled).toBe(true);
    const record = await call(server, 'GET', `/modules/${module.id}/records/${recordId}`);
    expect(record.status, record.text).toBe(200);
    expect(record.body.data).toEqual({ email: 'ada@example.com' });
  });

  it('a module created with a narrow surface, then widened by PATCH', async () => {
    const module = await newModule({ api_methods: ['list'] });
    expect(module.api_methods).toEqual(['list']);
    const refused = await call(server, 'POST', `/modules/${module.id}/records`, { body: { data: { email: 'x@example.com' } } });
    expectError(refused, 405, 'method_not_allowed');
    expect(refused.headers.get('allow')).toBe('GET');
    const widened = await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: ['list', 'create'] } });
    expect(widened.body.api_methods).toEqual(['list', 'create']);
    await newRecord(module.id);
    // An empty list switches every records endpoint off, and Allow says so on both paths.
    const none = await newModule({ api_methods: [] });
    const listNone = await call(server, 'GET', `/modules/${none.id}/records`);
    expectError(listNone, 405, 'method_not_allowed');
    expect(listNone.headers.get('allow')).toBe('');
  });

  it('refuses unknown or repeated method names and a non-boolean api_enabled with a 422 naming the field', async () => {
    const unknown = await call(server, 'POST', '/modules', { body: { name: 'Bad methods', api_methods: ['list', 'put'] } });
    expectError(unknown, 422, 'validation_failed');
    expect(Object.keys(unknown.body.errors)).toEqual(['api_methods.1']);
    const repeated = await call(server, 'POST', '/modules', { body: { name: 'Repeated methods', api_methods: ['list', 'list'] } });
    expectError(repeated, 422, 'validation_failed');
    expect(repeated.body.errors['api_methods.1']).toEqual(['Method "list" is named twice.']);
    const module = await newModule();
    const notBoolean = await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_enabled: 'no' } });
    expectError(notBoolean, 422, 'validation_failed');
    expect(Object.keys(notBoolean.body.errors)).toEqual(['api_enabled']);
    const notArray = await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_methods: 'list' } });
    expectError(notArray, 422, 'validation_failed');
    // Nothing changed.
    expect((await call(server, 'GET', `/modules/${module.id}`)).body).toMatchObject({ api_enabled: true, api_methods: ['list', 'get', 'create', 'update', 'delete'] });
  });

  it('holds below the REST edge: a call straight into the router gets the same 404 and 405 with Allow', async () => {
    const module = await newModule({ api_methods: ['get'] });
    const admitted = await postgresGatekeeper(server.database.sql, { addressLimitPerMinute: 1_000_000 }).admitKey(server.key);
    if (!admitted) throw new Error('the test key was not admitted');
    const caller = buildRouter().createCaller({ sql: server.database.sql, requestId: 'req_router', principal: admitted.principal, listing: {} });

    const refused = await caller.listRecords({ module_id: module.id }).catch((error: unknown) => error);
    const listError = (refused as { cause?: unknown }).cause;
    expect(listError).toBeInstanceOf(ApiError);
    expect(listError).toMatchObject({ code: 'method_not_allowed', headers: { Allow: '' } });

    await call(server, 'PATCH', `/modules/${module.id}`, { body: { api_enabled: false } });
    const hidden = await caller.getRecord({ module_id: module.id, record_id: 'rec_01jd8x3k5q9v2m7n4p6r8t0w1y' }).catch((error: unknown) => error);
    expect((hidden as { cause?: unknown }).cause).toMatchObject({ code: 'not_found' });
  });

  it('another workspace\'s module is still just not found', async () => {
    const module = await newModule();
    const recordId = await newRecord(module.id);
    const other = await createWorkspace(server.database.sql, { name: 'Other' });
    const collection = `/modules/${module.id}/records`;
    const item = `${collection}/${recordId}`;
    const body = { data: { email: 'x@example.com' } };
    for (const [method, path, options] of [
      ['GET', collection, {}],
      ['POST', collection, { body }],
      ['GET', item, {}],
      ['PATCH', item, { body }],
      ['DELETE', item, {}],
    ] as const) {
      const response = await call({ url: server.url, key: other.key }, method, path, options);
      expect(response.status, `${method} ${path}: ${response.text}`).toBe(404);
      expect(response.body.message).toBe('Module not found.');
    }
  });

  it('the OpenAPI document shows the fields and the 405 with Allow on every records operation', async () => {
    const document = (await call(server, 'GET', '/openapi.json', { key: null })).body;
    const schemas = document.components.schemas;
    expect(schemas.Module.required).toEqual(expect.arrayContaining(['api_enabled', 'api_methods']));
    expect(schemas.Module.properties.api_enabled.type).toBe('boolean');
    expect(schemas.RecordMethod.enum).toEqual(['list', 'get', 'create', 'update', 'delete']);
    const createBody = document.paths['/modules'].post.requestBody.content['application/json'].schema;
    const createSchema = createBody.$ref ? schemas[createBody.$ref.split('/').pop()] : createBody;
    expect(createSchema.properties.api_methods).toMatchObject({ uniqueItems: true, items: { $ref: '#/components/schemas/RecordMethod' } });
    expect(createSchema.properties.api_methods.description).toContain('Default: all five.');
    expect(document.components.responses.MethodNotAllowed.headers.Allow).toBeDefined();
    for (const [path, methods] of [
      ['/modules/{module_id}/records', ['get', 'post']],
      ['/modules/{module_id}/records/{record_id}', ['get', 'patch', 'delete']],
    ] as const) {
      for (const method of methods) {
        expect(document.paths[path][method].responses['405'], `${method} ${path}`).toEqual({ $ref: '#/components/responses/MethodNotAllowed' });
      }
    }
  });
});
