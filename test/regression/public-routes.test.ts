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

  it('answer a request line beyond 16 KiB with 431 in the error envelope', async () => {
    const response = await rawRequest(server.url, 'GET', `/api/v1/modules?search=${'x'.repeat(20_000)}`);
    expect(response.status).toBe(431);
    const body = JSON.parse(response.body);
    expect(body.error).toBe('request_headers_too_large');
    expect(body.request_id).toBe(response.headers['x-request-id']);
  });
});
