import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { rawRequest } from './raw-http.ts';

// Found by Schemathesis: other methods on the public routes got 404 although the path exists,
// and node:http answered an over-long request line with a bare 431 (no envelope, no request ID).
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('public routes and the HTTP edge', () => {
  it('answer another method on /health and the documents with 405 and Allow', async () => {
    for (const path of ['/api/v1/health', '/api/v1/openapi.json', '/api/v1/openapi-3.0.json']) {
      for (const method of ['POST', 'TRACE', 'DELETE']) {
        const response = await rawRequest(server.url, method, path);
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.allow).toBe('GET, HEAD');
        expect(JSON.parse(response.body).error).toBe('method_not_allowed');
        expect(response.headers['x-request-id']).toMatch(/^req_/);
      }
    }
  });

  it('validate a long query string that fits 64 KiB, and answer one beyond with 431 in the envelope', async () => {
    // The longest cursor the contract allows, percent-encoded from 4-byte characters: about 24 KiB.
    const longCursor = encodeURIComponent('\u{1F600}'.repeat(512));
    const validated = await rawRequest(server.url, 'GET', `/api/v1/modules?cursor=${longCursor}`);
    expect(validated.status).toBe(401);
    const response = await rawRequest(server.url, 'GET', `/api/v1/modules?search=${'x'.repeat(70_000)}`);
    expect(response.status).toBe(431);
    const body = JSON.parse(response.body);
    expect(body.error).toBe('request_headers_too_large');
    expect(body.request_id).toBe(response.headers['x-request-id']);
  });
});
