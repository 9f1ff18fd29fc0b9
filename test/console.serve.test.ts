import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * How the API serves the console's build at /console (built by `pnpm build`, which the test
 * task runs first): the page and its assets with their types, caching and security headers, and
 * nothing outside the build.
 */
const assetDir = join(import.meta.dirname, '..', 'apps', 'console', 'dist', 'assets');
if (!existsSync(assetDir)) throw new Error(`No console build in ${assetDir}: run \`pnpm build\` first (pnpm test does).`);
const assets = readdirSync(assetDir);
const script = assets.find((name) => name.endsWith('.js'))!;
const style = assets.find((name) => name.endsWith('.css'))!;

describe('the console at /console', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

  it('serves its page, checked on every visit, under a policy that allows only this origin', async () => {
    for (const path of ['/console', '/console/']) {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      const policy = response.headers.get('content-security-policy')!;
      expect(policy).toContain("default-src 'none'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("style-src 'self'");
      expect(policy).toContain("connect-src 'self'");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).not.toContain('unsafe-inline');
      const html = await response.text();
      // Its script and style come from this origin's build, never from elsewhere.
      expect(html).toContain(`src="/console/assets/${script}"`);
      expect(html).toContain(`href="/console/assets/${style}"`);
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
  });

  it('serves its hashed assets with their types, cached for good', async () => {
    const js = await get(`/console/assets/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await js.text()).length).toBeGreaterThan(1000);
    const css = await get(`/console/assets/${style}`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const head = await get(`/console/assets/${script}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('serves the build and nothing beside it: anything else, or another method, gets the 404 envelope', async () => {
    expect((await get(`/console/assets/${script}`)).status).toBe(200);
    for (const path of ['/console/assets/nope.js', '/console/package.json', '/console/assets/..%2f..%2fpackage.json', '/console/%2e%2e/%2e%2e/package.json', '/console/index.htm', '/consoles']) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'not_found', request_id: expect.stringMatching(/^req_/) });
    }
    const post = await get('/console', { method: 'POST' });
    expect(post.status).toBe(404);
    expect((await post.json()).error).toBe('not_found');
  });
});
