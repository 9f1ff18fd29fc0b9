import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchBrowser, NO_BROWSER_REASON } from './support/browser.ts';
import { call, startTestServer, type TestServer } from './support/server.ts';

/** The built client (ESM) and the one package it imports, served to the page as they are published. */
const CLIENT = fileURLToPath(new URL('../packages/client/dist/index.js', import.meta.url));
const OPENAPI_FETCH = fileURLToPath(new URL('../packages/client/node_modules/openapi-fetch/dist/index.mjs', import.meta.url));

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const README_ORIGIN = 'http://127.0.0.1:3000';
const IMPORT_MAP = '<script type="importmap">{ "imports": { "openapi-fetch": "/vendor/openapi-fetch.js", "@charter/client": "/client/index.js" } }</script>';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Charter from another origin</title>
${IMPORT_MAP}
<script type="module">import('/client/index.js').then((client) => { window.charterClient = client; });</script>`;

/** A tiny static site on its own loopback port: another origin than the API's. */
async function staticSite(apiUrl: () => string): Promise<{ server: Server; origin: string }> {
  const files: Record<string, () => Promise<string>> = {
    '/': async () => PAGE,
    // The README's browser example as written, with the import map it leaves to the reader, pointed at this test's API.
    '/readme': async () => {
      const readme = await readFile(README, 'utf8');
      const example = /## From a browser page[\s\S]*?```html\n([\s\S]*?)```/.exec(readme)?.[1];
      if (!example) throw new Error('no html block under "## From a browser page" in the README');
      return `<!doctype html>\n<meta charset="utf-8">\n${IMPORT_MAP}\n<body>\n${example.replaceAll(README_ORIGIN, apiUrl())}`;
    },
    '/client/index.js': () => readFile(CLIENT, 'utf8'),
    '/vendor/openapi-fetch.js': () => readFile(OPENAPI_FETCH, 'utf8'),
  };
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (!file) return void res.writeHead(404).end();
    file().then((body) => {
      res.writeHead(200, { 'content-type': req.url === '/' || req.url === '/readme' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8' }).end(body);
    }, () => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const title = chromiumPath ? 'a page on another origin, in a real browser' : `a page on another origin, in a real browser (${NO_BROWSER_REASON})`;

describe.skipIf(!chromiumPath)(title, () => {
  let api: TestServer;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  let browser: Browser;

  beforeAll(async () => {
    // The sites start first: the API must know the page's origin, and the pages learn the API's address later.
    allowed = await staticSite(() => api.url);
    other = await staticSite(() => api.url);
    api = await startTestServer({ corsOrigins: [allowed.origin] });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    for (const site of [allowed, other]) await new Promise((resolve) => site?.server.close(resolve));
  });

  async function open(origin: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'charterClient' in window, undefined, { timeout: 30_000 });
    return page;
  }

  it('uses the built @charter/client from an allowed origin: creates and lists records, reads the rate-limit headers, gets typed errors', async () => {
    const page = await open(allowed.origin);
    const seen = await page.evaluate(
      async ({ baseUrl, key }) => {
        const { Charter, ValidationError, MethodNotAllowedError } = (window as any).charterClient;
        const charter = new Charter({ baseUrl, apiKey: key, throwOnError: true });
        const created = await charter.POST('/modules', {
          body: { name: `From a page ${Math.random().toString(36).slice(2)}`, fields: [{ name: 'email', type: 'string', required: true }] },
        });
        const moduleId = created.data.id;
        const path = { params: { path: { module_id: moduleId } } };
        const idempotencyKey = crypto.randomUUID();
        const first = await charter.POST('/modules/{module_id}/records', { ...path, body: { data: { email: 'ada@example.com' } }, idempotencyKey });
        const replayed = await charter.POST('/modules/{module_id}/records', { ...path, body: { data: { email: 'ada@example.com' } }, idempotencyKey });
        await charter.POST('/modules/{module_id}/records', { ...path, body: { data: { email: 'grace@example.com' } } });
        const page1 = await charter.GET('/modules/{module_id}/records', { params: { path: { module_id: moduleId }, query: { limit: 1 } } });
        const all = await charter.paginate('/modules/{module_id}/records', { params: { path: { module_id: moduleId }, query: { limit: 1 } } }).toArray({ max: 10 });

        let invalid: any;
        await charter.POST('/modules/{module_id}/records', { ...path, body: { data: {} } }).catch((error: unknown) => (invalid = error));
        await charter.PATCH('/modules/{module_id}', { params: { path: { module_id: moduleId } }, body: { api_methods: ['list', 'get'] } });
        let switchedOff: any;
        await charter.POST('/modules/{module_id}/records', { ...path, body: { data: { email: 'x@example.com' } } }).catch((error: unknown) => (switchedOff = error));
        return {
          origin: location.origin,
          firstId: first.data.id,
          replayedId: replayed.data.id,
          replayedHeader: replayed.response.headers.get('idempotent-replayed'),
          listed: all.map((record: any) => record.data.email).sort(),
          link: page1.response.headers.get('link'),
          requestId: page1.response.headers.get('x-request-id'),
          rateLimit: {
            limit: page1.response.headers.get('x-ratelimit-limit'),
            remaining: page1.response.headers.get('x-ratelimit-remaining'),
            reset: page1.response.headers.get('x-ratelimit-reset'),
            policy: page1.response.headers.get('ratelimit-policy'),
            current: page1.response.headers.get('ratelimit'),
          },
          invalid: {
            typed: invalid instanceof ValidationError,
            status: invalid?.status,
            code: invalid?.code,
            fields: Object.keys(invalid?.errors ?? {}),
            requestId: invalid?.requestId,
            header: invalid?.response?.headers.get('x-request-id'),
          },
          switchedOff: { typed: switchedOff instanceof MethodNotAllowedError, status: switchedOff?.status, allow: switchedOff?.response?.headers.get('allow') },
        };
      },
      { baseUrl: `${api.url}/api/v1`, key: api.key },
    );

    expect(seen.origin).toBe(allowed.origin);
    expect(seen.origin).not.toBe(new URL(api.url).origin);
    expect(seen.replayedId).toBe(seen.firstId);
    expect(seen.replayedHeader).toBe('true');
    expect(seen.listed).toEqual(['ada@example.com', 'grace@example.com']);
    expect(seen.link).toMatch(/rel="next"/);
    expect(seen.requestId).toMatch(/^req_/);
    expect(Number(seen.rateLimit.limit)).toBeGreaterThan(0);
    expect(Number(seen.rateLimit.remaining)).toBeGreaterThanOrEqual(0);
    expect(Number(seen.rateLimit.reset)).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(seen.rateLimit.policy).toMatch(/"minute";q=\d+;w=60/);
    expect(seen.rateLimit.current).toMatch(/"minute";r=\d+;t=\d+/);
    expect(seen.invalid).toEqual({ typed: true, status: 422, code: 'validation_failed', fields: ['data.email'], requestId: seen.invalid.header, header: expect.stringMatching(/^req_/) });
    expect(seen.switchedOff).toEqual({ typed: true, status: 405, allow: 'GET' });
    await page.close();
  });

  it('the README\'s browser example runs as written on an allowed origin', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.addInitScript((key) => sessionStorage.setItem('charter-key', key), api.key);
    await page.goto(`${allowed.origin}/readme`);
    // The example replaces the page's body with its line; until then the body holds the script.
    await page.waitForFunction(() => document.body.childElementCount === 0, undefined, { timeout: 30_000 });
    expect(errors).toEqual([]);
    expect(await page.textContent('body')).toMatch(/^\d+ modules; \d+ calls left this minute$/);
    await page.close();
  });

  it('the client throttles itself in the browser from the headers it can read, and a 429 shows its Retry-After', async () => {
    const page = await open(allowed.origin);
    // Windows are calendar minutes: a walk that straddles two is made again with a fresh key (as inOneWindow does).
    let seen: any;
    for (let attempt = 0; attempt < 3; attempt++) {
      const limited = await call(api, 'POST', '/api-keys', { body: { name: 'one a minute', scopes: ['modules:read'], rate_limit_per_minute: 1, burst: 0 } });
      expect(limited.status, limited.text).toBe(201);
      seen = await page.evaluate(
        async ({ baseUrl, key }) => {
          const { Charter, RateLimitError } = (window as any).charterClient;
          const charter = new Charter({ baseUrl, apiKey: key, throwOnError: true, timeoutMs: 3_000 });
          const first = await charter.GET('/modules');
          let stopped: any;
          await charter.GET('/modules').catch((error: unknown) => (stopped = error));
          // The same call without the client: the server's 429, read by the page.
          const raw = await fetch(`${baseUrl}/modules`, { headers: { authorization: `Bearer ${key}` } });
          return {
            remaining: first.response.headers.get('x-ratelimit-remaining'),
            window: first.response.headers.get('x-ratelimit-reset'),
            stopped: { typed: stopped instanceof RateLimitError, sent: stopped?.status !== undefined, retryAt: stopped?.retryAt?.getTime() },
            raw: { status: raw.status, window: raw.headers.get('x-ratelimit-reset'), retryAfter: raw.headers.get('retry-after'), body: await raw.json() },
          };
        },
        { baseUrl: `${api.url}/api/v1`, key: limited.body.key as string },
      );
      if (seen.window === seen.raw.window) break;
    }
    expect(seen.raw.window).toBe(seen.window);
    expect(seen.remaining).toBe('0');
    // Kept from being sent: the client knew from X-RateLimit-* that the window was spent.
    expect(seen.stopped).toMatchObject({ typed: true, sent: false });
    // The window's end, as the client read it (X-RateLimit-Reset, or RateLimit's whole seconds from now).
    expect(Math.abs(seen.stopped.retryAt - Number(seen.window) * 1000)).toBeLessThan(2_000);
    expect(seen.raw.status).toBe(429);
    expect(Number(seen.raw.retryAfter)).toBeGreaterThan(0);
    expect(seen.raw.body).toMatchObject({ error: 'rate_limit_exceeded', retry_after: Number(seen.raw.retryAfter) });
    await page.close();
  });

  it('a page from an origin that is not allowed is refused by the browser, and its write never reaches the API', async () => {
    const before = (await call(api, 'GET', '/modules?limit=100')).body.total;
    const page = await open(other.origin);
    const seen = await page.evaluate(
      async ({ baseUrl, key }) => {
        const { Charter } = (window as any).charterClient;
        const charter = new Charter({ baseUrl, apiKey: key, maxRetries: 0 });
        const outcome = (promise: Promise<unknown>) =>
          promise.then(
            (value: any) => ({ ok: true, status: value?.response?.status ?? value?.status }),
            (error: any) => ({ ok: false, name: error?.name, message: String(error?.message) }),
          );
        return {
          // Preflighted (Authorization, JSON): the preflight gets no CORS answer, so the POST is never sent.
          write: await outcome(charter.POST('/modules', { body: { name: 'From a stranger' } })),
          // Simple request, no preflight: sent and answered, but the answer is kept from the page.
          health: await outcome(fetch(`${baseUrl}/health`)),
        };
      },
      { baseUrl: `${api.url}/api/v1`, key: api.key },
    );
    expect(seen.write).toMatchObject({ ok: false, name: 'ConnectionError' });
    expect(seen.health).toMatchObject({ ok: false, name: 'TypeError', message: 'Failed to fetch' });
    expect((await call(api, 'GET', '/modules?limit=100')).body.total).toBe(before);
    await page.close();

    // The same simple request from the allowed origin is read: the refusal above is the origin's.
    const control = await open(allowed.origin);
    const health = await control.evaluate(async (baseUrl) => (await fetch(`${baseUrl}/health`)).status, `${api.url}/api/v1`);
    expect(health).toBe(200);
    await control.close();
  });
});
