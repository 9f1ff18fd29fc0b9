import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchBrowser, NO_BROWSER_REASON } from './support/browser.ts';
import { axe, openConsole, signIn, WAIT } from './support/console.ts';
import { onServer, serverOnly } from './support/gates.ts';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

/**
 * The console at /console, driven in Debian's chromium against a real server on a PostgreSQL
 * server: sign in, create a key and see its secret once, use it, find its calls in the access log
 * and the usage chart, rotate and revoke it; a key without api-keys:write sees no create button;
 * axe-core finds nothing serious or critical on any page. Screenshots go to a temporary folder,
 * whose path the test prints.
 */
const NAME = 'the console in a real browser';
const title = !chromiumPath ? `${NAME} (${NO_BROWSER_REASON})` : serverOnly(NAME);
const SECRET = /^sk_(live|test)_[0-9A-Za-z]{38}$/;

describe.skipIf(!chromiumPath || !onServer)(title, () => {
  let server: TestServer;
  let browser: Browser;
  let shots: string;
  let pagerKeyId: string;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    shots = mkdtempSync(join(tmpdir(), 'charter-console-'));
    console.log(`Console screenshots: ${shots}`);
    const contacts = await createModule(server, [
      { name: 'email', type: 'string', required: true },
      { name: 'plan', type: 'string' },
    ], 'Contacts');
    for (const [email, plan] of [['ada@example.com', 'pro'], ['grace@example.com', 'free'], ['alan@example.com', 'pro']]) {
      const made = await call(server, 'POST', `/modules/${contacts.id}/records`, { body: { data: { email, plan } } });
      expect(made.status).toBe(201);
    }
    // Twelve calls of a key nobody else uses: a log that stays put while the test pages through it.
    const pager = await call(server, 'POST', '/api-keys', { body: { name: 'Pager key', scopes: ['modules:read'] } });
    pagerKeyId = pager.body.id;
    for (let i = 0; i < 12; i++) expect((await call({ url: server.url, key: pager.body.key }, 'GET', '/modules')).status).toBe(200);
    await server.app.flush();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function visit(page: Page, route: string, heading: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: route }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor(WAIT);
  }

  it('signs in, shows a new secret once, finds its calls in the access log and usage chart, rotates and revokes it', async () => {
    const { context, page, problems, outside } = await openConsole(browser, server.url);
    await page.getByRole('heading', { name: 'Sign in to the Charter console' }).waitFor(WAIT);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '1-sign-in.png') });

    // 1. Sign in: the key goes to sessionStorage only.
    await signIn(page, server.key);
    await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor(WAIT);
    await page.getByText(`Scopes: *`).waitFor(WAIT);
    // The workspace, from GET /api-keys/current: its name and id in the header.
    const workspace = page.getByTestId('workspace');
    await workspace.getByText('Test workspace').waitFor(WAIT);
    expect(await workspace.textContent()).toContain(server.workspaceId);
    const storage = await page.evaluate(() => ({ local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }), cookie: document.cookie }));
    expect(storage.session).toContain(server.key);
    expect(storage.local).not.toContain(server.key);
    expect(storage.cookie).toBe('');

    // Keyboard: the create dialog opens from the keyboard, Escape closes it and focus returns.
    const createButton = page.getByRole('button', { name: 'Create key' });
    await createButton.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Create a key' });
    await dialog.waitFor(WAIT);
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('key-name');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', ...WAIT });
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Create key');

    // 2. Create a key; its secret shows once, with a copy button and a warning.
    await createButton.click();
    await dialog.getByLabel('Name').fill('Console test key');
    await dialog.getByRole('checkbox', { name: 'modules:read', exact: true }).check();
    await dialog.getByLabel('Daily quota (empty: none)').fill('1000');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const secretDialog = page.getByRole('dialog', { name: 'Secret of Console test key' });
    await secretDialog.waitFor(WAIT);
    await secretDialog.getByText('It is shown once and cannot be shown again').waitFor(WAIT);
    const shown = (await secretDialog.getByTestId('new-secret').textContent())!.trim();
    expect(shown).toMatch(SECRET);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '2-new-secret.png') });

    // 3. Copy it, then use it from the test.
    await secretDialog.getByRole('button', { name: 'Copy the secret' }).click();
    await secretDialog.getByText('Copied').waitFor(WAIT);
    const secret = await page.evaluate(() => navigator.clipboard.readText());
    expect(secret).toBe(shown);
    await secretDialog.getByRole('button', { name: 'I have stored it' }).click();
    await secretDialog.waitFor({ state: 'detached', ...WAIT });
    const row = page.locator('tbody tr', { hasText: 'Console test key' });
    await row.waitFor(WAIT);
    const keyId = (await row.getAttribute('data-key-id'))!;
    await row.getByText(`${secret.slice(0, 12)}…${secret.slice(-4)}`).waitFor(WAIT);
    // Shown once: gone from the page once the dialog is closed, and after a reload.
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.locator('tbody tr', { hasText: 'Console test key' }).waitFor(WAIT);
    expect(await page.content()).not.toContain(secret);

    const caller = { url: server.url, key: secret };
    const tag = `console-${Date.now()}`;
    for (let i = 1; i <= 3; i++) expect((await call(caller, 'GET', '/modules', { headers: { 'x-request-id': `${tag}-ok-${i}` } })).status).toBe(200);
    expect((await call(caller, 'POST', '/modules', { body: { name: 'Nope' }, headers: { 'x-request-id': `${tag}-denied` } })).status).toBe(403);
    await server.app.flush();

    // 4a. The access log, filtered to the new key, lists the four calls with copyable request IDs.
    await visit(page, 'Access log', 'Access log');
    await page.getByLabel('Key', { exact: true }).selectOption(keyId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('status').filter({ hasText: '4 calls match.' }).waitFor(WAIT);
    for (const id of [`${tag}-ok-1`, `${tag}-ok-2`, `${tag}-ok-3`, `${tag}-denied`]) await page.getByText(id, { exact: true }).waitFor(WAIT);
    await page.getByLabel('Status').fill('403');
    await page.getByLabel('Method').selectOption('POST');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('status').filter({ hasText: '1 call matches.' }).waitFor(WAIT);
    const denied = page.locator('tbody tr', { hasText: `${tag}-denied` });
    await expect.poll(() => denied.locator('td').nth(3).textContent()).toBe('/api/v1/modules');
    await denied.getByRole('button', { name: `Copy request ID ${tag}-denied` }).click();
    await denied.getByText('Copied').waitFor(WAIT);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${tag}-denied`);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '3-access-log.png'), fullPage: true });

    // Cursor paging, ten a page, through the twelve calls of the pager key.
    await page.getByLabel('Key', { exact: true }).selectOption(pagerKeyId);
    await page.getByLabel('Status').fill('');
    await page.getByLabel('Method').selectOption('');
    await page.getByLabel('Rows per page').selectOption('10');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('status').filter({ hasText: '12 calls match.' }).waitFor(WAIT);
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(10);
    const firstId = () => page.locator('tbody tr').first().locator('td.request-id code').textContent();
    const pageOne = await firstId();
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(firstId, WAIT).not.toBe(pageOne);
    expect(await page.locator('tbody tr').count()).toBe(2);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    const pageTwo = await firstId();
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(firstId, WAIT).toBe(pageOne);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(firstId, WAIT).toBe(pageTwo);

    // 4b. The usage chart of the new key counts the calls and draws them.
    await visit(page, 'Usage', 'Usage');
    await page.getByLabel('Key', { exact: true }).selectOption(keyId);
    await page.getByRole('button', { name: 'Last hour, per minute' }).click();
    await page.getByTestId('usage-summary').filter({ hasText: '4 requests, 1 of them errors, counted per minute' }).waitFor(WAIT);
    // Where each series left pixels of its own colour on the canvas (y grows downwards).
    const drawn = await page.evaluate(() => {
      const canvas = document.querySelector('[data-testid="usage-chart"] canvas') as HTMLCanvasElement | null;
      const extent = { requests: { count: 0, top: Infinity, bottom: -1 }, errors: { count: 0, top: Infinity, bottom: -1 } };
      if (!canvas) return extent;
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      const near = (i: number, rgb: number[]) => pixels[i + 3]! > 200 && rgb.every((value, c) => Math.abs(pixels[i + c]! - value) < 12);
      for (let i = 0; i < pixels.length; i += 4) {
        const y = Math.floor(i / 4 / canvas.width);
        for (const [name, rgb] of [['requests', [0x1d, 0x4e, 0xd8]], ['errors', [0xb9, 0x1c, 0x1c]]] as const) {
          if (!near(i, [...rgb])) continue;
          const e = extent[name];
          e.count++;
          e.top = Math.min(e.top, y);
          e.bottom = Math.max(e.bottom, y);
        }
      }
      return extent;
    });
    // Both series drew their zero baseline and rose above it, requests (up to 3 or 4 a minute) higher than errors (1).
    expect(drawn.requests.count).toBeGreaterThan(20);
    expect(drawn.errors.count).toBeGreaterThan(20);
    expect(drawn.errors.top).toBeLessThan(drawn.errors.bottom - 10);
    expect(drawn.requests.top).toBeLessThan(drawn.errors.top - 10);
    expect(Number(await page.getByTestId('usage-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(60);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '4-usage.png'), fullPage: true });

    // The data page: modules, their fields, records with search, filter and sort.
    await visit(page, 'Data', 'Data');
    await page.getByRole('status').filter({ hasText: '3 records match.' }).waitFor(WAIT);
    await page.getByRole('cell', { name: 'email' }).first().waitFor(WAIT);
    await page.getByLabel('Filter on field').selectOption('plan');
    await page.getByLabel('equal to').fill('pro');
    await page.getByLabel('Sort').selectOption('created_at');
    await page.getByRole('button', { name: 'Show records' }).click();
    await page.getByRole('status').filter({ hasText: '2 records match.' }).waitFor(WAIT);
    expect(await page.locator('tbody tr').last().textContent()).toContain('alan@example.com');
    await page.getByLabel('Search text fields').fill('alan');
    await page.getByRole('button', { name: 'Show records' }).click();
    await page.getByRole('status').filter({ hasText: '1 record matches.' }).waitFor(WAIT);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '5-data.png'), fullPage: true });

    // 5. Rotate with a one-hour grace period: a new secret, shown once; both work meanwhile.
    await visit(page, 'Keys', 'Keys');
    await page.getByRole('button', { name: 'Rotate Console test key' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate Console test key' });
    await rotate.getByLabel('Grace period for the previous secret').selectOption('1');
    await rotate.getByRole('button', { name: 'Rotate' }).click();
    const rotated = page.getByRole('dialog', { name: 'New secret of Console test key' });
    await rotated.waitFor(WAIT);
    const newSecret = (await rotated.getByTestId('new-secret').textContent())!.trim();
    expect(newSecret).toMatch(SECRET);
    expect(newSecret).not.toBe(secret);
    await rotated.getByRole('button', { name: 'I have stored it' }).click();
    await page.locator('tbody tr', { hasText: 'Console test key' }).getByText(/in grace/).waitFor(WAIT);
    expect((await call({ url: server.url, key: newSecret }, 'GET', '/modules')).status).toBe(200);
    expect((await call(caller, 'GET', '/modules')).status).toBe(200);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '6-keys-rotated.png'), fullPage: true });

    // 5b. Revoke, after a confirmation: both secrets stop working at once.
    await page.getByRole('button', { name: 'Revoke Console test key' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke Console test key?' });
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await page.locator('tbody tr', { hasText: 'Console test key' }).getByText('revoked', { exact: true }).waitFor(WAIT);
    expect((await call({ url: server.url, key: newSecret }, 'GET', '/modules')).status).toBe(401);
    expect((await call(caller, 'GET', '/modules')).status).toBe(401);

    // Signing out forgets the key.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the Charter console' }).waitFor(WAIT);
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }))).not.toContain(server.key);

    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await context.close();
  });

  it('hides what a key may not do: no create button without api-keys:write, no keys page without api-keys:read, a 401 in plain words', async () => {
    const reader = await call(server, 'POST', '/api-keys', { body: { name: 'Read-only viewer', scopes: ['api-keys:read', 'usage:read'] } });
    expect(reader.status).toBe(201);
    const { context, page, problems } = await openConsole(browser, server.url);
    await signIn(page, reader.body.key);
    await page.locator('tbody tr', { hasText: 'Read-only viewer' }).waitFor(WAIT);
    await page.getByText('Scopes: api-keys:read, usage:read').waitFor(WAIT);
    expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Edit|Rotate|Revoke) / }).count()).toBe(0);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '7-keys-read-only.png'), fullPage: true });
    // Pages its scopes do not allow are not offered, and say why when opened by address.
    const nav = page.getByRole('navigation', { name: 'Pages' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Keys', 'Usage', 'Access log']);
    await page.evaluate(() => {
      location.hash = '#/data';
    });
    await page.getByText('This key cannot open this page: it needs the scope modules:read.').waitFor(WAIT);
    expect(await axe(page)).toEqual([]);
    await page.getByRole('button', { name: 'Sign out' }).click();

    // A key that cannot read keys still learns its own scopes and workspace, and is offered only what they allow.
    const narrow = await call(server, 'POST', '/api-keys', { body: { name: 'Modules only', scopes: ['modules:read'] } });
    await signIn(page, narrow.body.key);
    await page.getByRole('heading', { level: 1, name: 'Data' }).waitFor(WAIT);
    await page.getByText('Scopes: modules:read').waitFor(WAIT);
    await page.getByTestId('workspace').getByText('Test workspace').waitFor(WAIT);
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Data']);
    await page.evaluate(() => {
      location.hash = '#/keys';
    });
    await page.getByText('This key cannot open this page: it needs the scope api-keys:read.').waitFor(WAIT);
    expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    expect(await axe(page)).toEqual([]);
    await page.getByRole('button', { name: 'Sign out' }).click();

    // A revoked key is refused at sign-in, in plain words with the request id.
    const gone = await call(server, 'POST', '/api-keys', { body: { name: 'Gone', scopes: ['modules:read'] } });
    expect((await call(server, 'DELETE', `/api-keys/${gone.body.id}`)).status).toBe(204);
    await signIn(page, gone.body.key);
    const alert = page.getByRole('alert');
    await alert.getByText('This key is not accepted: it may be mistyped, expired or revoked.').waitFor(WAIT);
    expect(await alert.textContent()).toMatch(/Request ID req_[0-9a-z]+/);
    expect(await axe(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('says when to try again after a 429', async () => {
    const limited = await call(server, 'POST', '/api-keys', { body: { name: 'One a day', scopes: ['modules:read'], daily_quota: 1 } });
    expect(limited.status).toBe(201);
    // The day's one request, spent outside the console: the next waits until the next UTC day.
    expect((await call({ url: server.url, key: limited.body.key }, 'GET', '/modules')).status).toBe(200);
    const { context, page } = await openConsole(browser, server.url);
    await signIn(page, limited.body.key);
    const alert = page.getByRole('alert');
    await alert.getByText('Too many requests with this key.').waitFor(WAIT);
    expect(await alert.textContent()).toMatch(/Try again at .+ \(in \d+ s\)\./);
    expect(await alert.textContent()).toMatch(/Request ID req_[0-9a-z]+/);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '8-rate-limited.png') });
    await context.close();
  });
});
