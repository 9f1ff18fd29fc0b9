import { request as httpRequest } from 'node:http';
import { ERROR_CODES } from '@charter/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let moduleId: string;
const secretLeaks: string[] = [];

beforeAll(async () => {
  server = await startTestServer({
    maxBodyBytes: 2048,
    handlers: {
      // A handler that fails the way real bugs do: with SQL and internals in the error.
      getRecord: async ({ sql }) => {
        await sql`select * from table_that_does_not_exist_7f3a`;
        throw new Error('unreachable');
      },
    },
    logError: (message) => secretLeaks.push(message),
  });
  moduleId = (await createModule(server, [{ name: 'email', type: 'string', required: true }, { name: 'n', type: 'number' }])).id;
});
afterAll(() => server.close());

/** Every error response: the status, the code from the one table, the envelope, the request id. */
function expectEnvelope(response: ApiResponse, status: number, code: keyof typeof ERROR_CODES) {
  expect(response.status, response.text).toBe(status);
  expect(ERROR_CODES[code]).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(response.body.error).toBe(code);
  expect(typeof response.body.message).toBe('string');
  expect(response.body.message.length).toBeGreaterThan(0);
  expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
  const allowed = ['error', 'message', 'request_id', 'errors', 'required_scopes', 'retry_after', 'limit', 'remaining', 'reset_at'];
  for (const key of Object.keys(response.body)) expect(allowed).toContain(key);
}

describe('every error in API.md comes back in the envelope', () => {
  it('400 bad_request for malformed JSON and for a body that is not an object', async () => {
    const malformed = await call(server, 'POST', '/modules', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expectEnvelope(malformed, 400, 'bad_request');
    const array = await call(server, 'POST', '/modules', { rawBody: '[1,2]', headers: { 'content-type': 'application/json' } });
    expectEnvelope(array, 400, 'bad_request');
  });

  it('401 unauthorized for a missing or malformed key, with WWW-Authenticate', async () => {
    const missing = await call(server, 'GET', '/modules', { key: null });
    expectEnvelope(missing, 401, 'unauthorized');
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const malformed = await call(server, 'GET', '/modules', { key: 'sk_live_nope' });
    expectEnvelope(malformed, 401, 'unauthorized');
    expect({ ...malformed.body, request_id: '' }).toEqual({ ...missing.body, request_id: '' });
  });

  it('403 access_denied names the missing scope', async () => {
    const readOnly = await call(server, 'POST', '/api-keys', { body: { name: 'read only', scopes: ['modules:read'] } });
    expect(readOnly.status).toBe(201);
    const denied = await call(server, 'POST', '/modules', { key: readOnly.body.key, body: { name: 'Nope' } });
    expectEnvelope(denied, 403, 'access_denied');
    expect(denied.body).toMatchObject({
      message: 'Insufficient permissions. Required scope: modules:write',
      required_scopes: ['modules:write'],
    });
    expect((await call(server, 'GET', '/modules', { key: readOnly.body.key })).status).toBe(200);
  });

  it('404 not_found for unknown routes and unknown resources', async () => {
    expectEnvelope(await call(server, 'GET', '/nothing-here'), 404, 'not_found');
    expectEnvelope(await call(server, 'GET', '/modules/mod_00000000000000000000000000'), 404, 'not_found');
    expectEnvelope(await call(server, 'GET', `/modules/mod_00000000000000000000000000/records`), 404, 'not_found');
  });

  it('405 for a known path with the wrong method, naming the allowed ones', async () => {
    const response = await call(server, 'PUT', '/modules', { body: {} });
    expectEnvelope(response, 405, 'method_not_allowed');
    expect(response.headers.get('allow')).toBe('GET, POST');
  });

  it('409 conflict for a duplicate module name', async () => {
    await call(server, 'POST', '/modules', { body: { name: 'Twice' } });
    expectEnvelope(await call(server, 'POST', '/modules', { body: { name: 'Twice' } }), 409, 'conflict');
  });

  it('413 payload_too_large past the body limit, 415 for another content type', async () => {
    const big = await call(server, 'POST', '/modules', { body: { name: 'x'.repeat(5000) } });
    expectEnvelope(big, 413, 'payload_too_large');
    const text = await call(server, 'POST', '/modules', { rawBody: 'name=x', headers: { 'content-type': 'text/plain' } });
    expectEnvelope(text, 415, 'unsupported_media_type');
  });

  it('413 payload_too_large, in the envelope, for a chunked body that grows past the limit mid-upload', async () => {
    // No declared length; the body passes the 2,048-byte limit with its second chunk, and the
    // client sends no more until it has the answer: the server must answer mid-upload, not drop the connection.
    const answer = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      const request = httpRequest(`${server.url}/api/v1/modules`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      request.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body, connection: response.headers.connection });
          request.destroy();
        });
      });
      request.on('error', reject);
      request.write(`{"name":"${'x'.repeat(1500)}`);
      request.write('x'.repeat(1500));
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'payload_too_large' });
    expect(answer.connection).toBe('close');
  });

  it('422 validation_failed with per-field errors', async () => {
    const missing = await call(server, 'POST', '/modules', { body: {} });
    expectEnvelope(missing, 422, 'validation_failed');
    expect(missing.body.errors).toEqual({ name: ['The name field is required.'] });

    const record = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { n: 'three', other: 1 } } });
    expectEnvelope(record, 422, 'validation_failed');
    expect(Object.keys(record.body.errors).sort()).toEqual(['data.email', 'data.n', 'data.other']);
    expect(record.body.errors['data.email']).toEqual(['The data.email field is required.']);

    const unknownParameter = await call(server, 'POST', '/modules', { body: { name: 'A', colour: 'red' } });
    expectEnvelope(unknownParameter, 422, 'validation_failed');
    expect(unknownParameter.body.errors).toEqual({ colour: ['Unknown parameter "colour".'] });

    const badId = await call(server, 'GET', '/modules/not-an-id');
    expectEnvelope(badId, 422, 'validation_failed');
    expect(Object.keys(badId.body.errors)).toEqual(['module_id']);
  });

  it('keeps JSON booleans strict in bodies, even after query strings were coerced', async () => {
    // trpc-to-openapi turns coercion on inside the schemas it serves; the server locks it off for bodies.
    await call(server, 'GET', '/modules?limit=5');
    const response = await call(server, 'POST', '/modules', {
      body: { name: 'Strict', fields: [{ name: 'flag', type: 'boolean', required: 'false' }] },
    });
    expectEnvelope(response, 422, 'validation_failed');
    expect(Object.keys(response.body.errors)).toEqual(['fields.0.required']);
    expect(response.body.errors['fields.0.required'][0]).toMatch(/expected boolean/);
  });

  it('500 server_error never leaks a stack trace or SQL, and logs it instead', async () => {
    const response = await call(server, 'GET', `/modules/${moduleId}/records/rec_00000000000000000000000000`);
    expectEnvelope(response, 500, 'server_error');
    expect(response.text).not.toMatch(/table_that_does_not_exist|select|at .*\.ts|Error:/i);
    expect(secretLeaks.some((line) => line.includes(response.body.request_id))).toBe(true);
  });
});
