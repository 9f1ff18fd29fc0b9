import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWebhookWorker, retryPolicy, type WebhookWorker } from '@charter/server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchBrowser, NO_BROWSER_REASON } from './support/browser.ts';
import { axe, openConsole, signIn, WAIT } from './support/console.ts';
import { onServer, serverOnly } from './support/gates.ts';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';
import { type Receiver, startReceiver, waitFor } from './support/webhook-receiver.ts';

/**
 * The console's Webhooks page, driven in Debian's chromium against a real server on a PostgreSQL
 * server whose settings allow loopback receivers: add an endpoint and see its secret once, send a
 * test event that reaches a real receiver, find the delivery a record change produced, and see a
 * retry of a delivery that already succeeded refused in plain words; a key that may only read
 * webhooks gets no buttons that change them. axe-core finds nothing serious or critical.
 */
const NAME = 'the console Webhooks page in a real browser';
const VIEWPORT = { width: 1280, height: 900 };
const title = !chromiumPath ? `${NAME} (${NO_BROWSER_REASON})` : serverOnly(NAME);

describe.skipIf(!chromiumPath || !onServer)(title, () => {
  let server: TestServer;
  let browser: Browser;
  let receiver: Receiver;
  let worker: WebhookWorker;
  let shots: string;
  let moduleId: string;
  // The receiver holds its answer to record events until the test lets it go, so that the page can
  // show a delivery while it is still pending; test events are answered at once.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });

  beforeAll(async () => {
    // Loopback receivers allowed, and a generous call deadline: the held delivery must not time out while the page looks at it.
    const webhooks = { sealingKey: randomBytes(32), allowedHosts: ['127.0.0.1'], timeoutMs: 120_000 };
    server = await startTestServer({ webhooks });
    // Retries an hour apart: a failed delivery goes out again soon only when the console asks for it.
    const policy = retryPolicy({ delaysMs: [3_600_000, 3_600_000], jitter: 0 });
    worker = createWebhookWorker({ sql: server.database.sql, sealingKey: webhooks.sealingKey, listen: false, pollIntervalMs: 50, http: webhooks, policy, logError: () => {} });
    await worker.start();
    receiver = await startReceiver(async (request) => {
      // The first call to /flaky fails: its delivery then waits for a retry an hour away.
      if (request.path === '/flaky') return receiver.received.filter((r) => r.path === '/flaky').length === 1 ? 500 : 200;
      if (request.body.includes('"type":"record.')) await held;
      return 200;
    });
    browser = await launchBrowser();
    shots = mkdtempSync(join(tmpdir(), 'charter-console-webhooks-'));
    console.log(`Console Webhooks screenshots: ${shots}`);
    moduleId = (await createModule(server, [{ name: 'email', type: 'string', required: true }], 'Leads')).id;
  });
  afterAll(async () => {
    release();
    await worker?.stop();
    await browser?.close();
    await server?.close();
    await receiver?.close();
  });

  /** The endpoint's deliveries as the API lists them. */
  async function deliveries(webhookId: string): Promise<Array<{ id: string; status: string; event_type: string }>> {
    const listed = await call(server, 'GET', `/webhooks/${webhookId}/deliveries`);
    expect(listed.status).toBe(200);
    return listed.body.data;
  }

  it('adds an endpoint with its secret shown once, tests it, lists its deliveries and explains a refused retry', async () => {
    const { context, page, problems } = await openConsole(browser, server.url, VIEWPORT);
    await signIn(page, server.key);
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor(WAIT);
    await page.getByText('No endpoints yet.').waitFor(WAIT);

    // Add an endpoint: the whsec_ secret shows once, with a copy button and the warning.
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const form = page.getByRole('dialog', { name: 'Add a webhook endpoint' });
    await form.getByLabel('URL (https:// on a public address)').fill(`${receiver.url}/console-hook`);
    await form.getByRole('checkbox', { name: 'record.*', exact: true }).check();
    await form.getByLabel('Description (optional)').fill('Lead sync');
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    const secretDialog = page.getByRole('dialog', { name: 'Signing secret of the new endpoint' });
    await secretDialog.waitFor(WAIT);
    await secretDialog.getByText('It is shown once and cannot be shown again').waitFor(WAIT);
    const secret = (await secretDialog.getByTestId('new-secret').textContent())!.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    await secretDialog.getByRole('button', { name: 'Copy the secret' }).click();
    await secretDialog.getByText('Copied').waitFor(WAIT);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '1-webhook-secret.png') });
    await secretDialog.getByRole('button', { name: 'I have stored it' }).click();
    await secretDialog.waitFor({ state: 'detached', ...WAIT });

    const row = page.locator('tbody tr', { hasText: `${receiver.url}/console-hook` });
    await row.waitFor(WAIT);
    const webhookId = (await row.getAttribute('data-webhook-id'))!;
    expect(await row.textContent()).toContain('record.*');
    expect(await row.textContent()).toContain('Lead sync');
    expect(await row.locator('td.status').textContent()).toBe('active');
    // Shown once: gone from the page once the dialog is closed, and after a reload.
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await row.waitFor(WAIT);
    expect(await page.content()).not.toContain(secret);

    // The test call reaches the receiver, and the page shows what it answered.
    await page.getByRole('button', { name: `Test ${receiver.url}/console-hook` }).click();
    const testDialog = page.getByRole('dialog', { name: 'Send a test event' });
    await testDialog.getByRole('button', { name: 'Send test event' }).click();
    await testDialog.getByTestId('test-result').getByText(/^Success: the endpoint answered HTTP 200 in \d+ ms\.$/).waitFor(WAIT);
    await testDialog.getByText('answered 200').waitFor(WAIT);
    const tested = receiver.received.find((request) => request.body.includes('"type":"webhook.test"'));
    expect(tested?.path).toBe('/console-hook');
    expect(JSON.parse(tested!.body).data.webhook_id).toBe(webhookId);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '2-webhook-test.png') });
    await testDialog.getByRole('button', { name: 'Close' }).click();

    // A record made through the API produces a delivery; the receiver holds its answer meanwhile.
    const made = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { email: 'lead@example.com' } } });
    expect(made.status).toBe(201);
    await waitFor('the delivery to reach the receiver', () => receiver.received.some((request) => request.body.includes('"type":"record.created"')));
    await page.getByRole('link', { name: `Deliveries of ${receiver.url}/console-hook` }).click();
    await page.getByRole('heading', { level: 3, name: /Deliveries to/ }).waitFor(WAIT);
    const [delivery] = await deliveries(webhookId);
    expect(delivery).toMatchObject({ event_type: 'record.created', status: 'pending' });
    const deliveryRow = page.locator(`tbody tr[data-delivery-id="${delivery!.id}"]`);
    await deliveryRow.getByText('pending: not tried yet').waitFor(WAIT);
    await deliveryRow.getByText('record.created').waitFor(WAIT);
    const retryButton = deliveryRow.getByRole('button', { name: `Retry now: delivery ${delivery!.id}` });
    await retryButton.waitFor(WAIT);

    // The receiver answers; once the API counts the delivery a success, the page's stale Retry is refused in plain words.
    release();
    await waitFor('the delivery to succeed', async () => (await deliveries(webhookId))[0]?.status === 'success');
    await retryButton.click();
    const alert = page.getByRole('alert');
    await alert.getByText('This delivery cannot be retried now.').waitFor(WAIT);
    await alert.getByText('The delivery succeeded: there is nothing to retry.').waitFor(WAIT);
    expect(await alert.textContent()).toMatch(/Request ID req_[0-9a-z]+/);
    // The list reloads: the delivery shows its success and offers no retry any more.
    await deliveryRow.getByText('success', { exact: true }).waitFor(WAIT);
    expect(await deliveryRow.getByRole('button').count()).toBe(0);
    expect(await deliveryRow.locator('td').nth(4).textContent()).toBe('200');
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '3-webhook-deliveries.png'), fullPage: true });

    // Filters by status and event type.
    await page.getByLabel('Delivery status').selectOption('failed');
    await page.getByRole('button', { name: 'Show deliveries' }).click();
    await page.getByRole('status').filter({ hasText: '0 deliveries match.' }).waitFor(WAIT);
    await page.getByLabel('Delivery status').selectOption('success');
    await page.getByLabel('Event type').selectOption('record.created');
    await page.getByRole('button', { name: 'Show deliveries' }).click();
    await page.getByRole('status').filter({ hasText: '1 delivery matches.' }).waitFor(WAIT);
    await deliveryRow.waitFor(WAIT);
    await page.getByLabel('Event type').selectOption('record.deleted');
    await page.getByRole('button', { name: 'Show deliveries' }).click();
    await page.getByRole('status').filter({ hasText: '0 deliveries match.' }).waitFor(WAIT);

    // The endpoint's counters and last delivery now show the success.
    await page.getByRole('button', { name: 'Refresh endpoints' }).click();
    await expect.poll(() => row.locator('td').nth(4).textContent(), WAIT).toBe('1 / 0');
    expect(await row.locator('td').nth(5).textContent()).not.toBe('—');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('retries a delivery that failed now rather than at its next attempt an hour away', async () => {
    const endpoint = await call(server, 'POST', '/webhooks', { body: { url: `${receiver.url}/flaky`, events: ['record.deleted'] } });
    expect(endpoint.status).toBe(201);
    const made = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { email: 'gone@example.com' } } });
    expect((await call(server, 'DELETE', `/modules/${moduleId}/records/${made.body.id}`)).status).toBe(204);
    await waitFor('the first attempt to fail', async () => (await deliveries(endpoint.body.id))[0]?.status === 'retrying');
    const { context, page, problems } = await openConsole(browser, server.url, VIEWPORT);
    await signIn(page, server.key);
    await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor(WAIT);
    await page.evaluate((id) => {
      location.hash = `#/webhooks?webhook_id=${id}`;
    }, endpoint.body.id);
    const [delivery] = await deliveries(endpoint.body.id);
    const row = page.locator(`tbody tr[data-delivery-id="${delivery!.id}"]`);
    await row.getByText('retrying: failed, tried again later').waitFor(WAIT);
    expect(await row.locator('td').nth(4).textContent()).toBe('500');
    expect(await row.locator('td').nth(5).textContent()).not.toBe('—');
    await row.getByRole('button', { name: `Retry now: delivery ${delivery!.id}` }).click();
    await page.getByRole('status').filter({ hasText: `Delivery ${delivery!.id} is due now` }).waitFor(WAIT);
    await waitFor('the retried delivery to succeed', async () => (await deliveries(endpoint.body.id))[0]?.status === 'success');
    expect(receiver.received.filter((r) => r.path === '/flaky')).toHaveLength(2);
    await page.getByRole('button', { name: 'Show deliveries' }).click();
    await row.getByText('success', { exact: true }).waitFor(WAIT);
    expect(await row.locator('td').nth(3).textContent()).toBe('2');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('pages through deliveries with their cursors', async () => {
    const endpoint = await call(server, 'POST', '/webhooks', { body: { url: `${receiver.url}/paged`, events: ['module.*'] } });
    expect(endpoint.status).toBe(201);
    for (let i = 0; i < 12; i++) expect((await call(server, 'POST', '/modules', { body: { name: `Paged ${i}` } })).status).toBe(201);
    await waitFor('twelve successful deliveries', async () => (await deliveries(endpoint.body.id)).filter((d) => d.status === 'success').length === 12);
    const { context, page, problems } = await openConsole(browser, server.url, VIEWPORT);
    await signIn(page, server.key);
    await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor(WAIT);
    await page.evaluate((id) => {
      location.hash = `#/webhooks?webhook_id=${id}`;
    }, endpoint.body.id);
    await page.getByLabel('Rows per page').selectOption('10');
    await page.getByRole('button', { name: 'Show deliveries' }).click();
    await page.getByRole('status').filter({ hasText: '12 deliveries match.' }).waitFor(WAIT);
    const rows = page.locator('tbody tr[data-delivery-id]');
    await expect.poll(() => rows.count(), WAIT).toBe(10);
    const firstId = () => rows.first().getAttribute('data-delivery-id');
    const pageOne = await firstId();
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(firstId, WAIT).not.toBe(pageOne);
    expect(await rows.count()).toBe(2);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(firstId, WAIT).toBe(pageOne);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('edits, re-enables, rotates and deletes an endpoint', async () => {
    const created = await call(server, 'POST', '/webhooks', { body: { url: `${receiver.url}/edit-me`, events: ['api_key.*'] } });
    expect(created.status).toBe(201);
    // Switched off, as the worker does after too many failures.
    expect((await call(server, 'PATCH', `/webhooks/${created.body.id}`, { body: { is_active: false } })).status).toBe(200);
    const { context, page, problems } = await openConsole(browser, server.url, VIEWPORT);
    await signIn(page, server.key);
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Webhooks' }).click();
    const row = page.locator(`tbody tr[data-webhook-id="${created.body.id}"]`);
    await row.locator('td.status').getByText('disabled').waitFor(WAIT);

    await row.getByRole('button', { name: `Edit ${receiver.url}/edit-me` }).click();
    const edit = page.getByRole('dialog', { name: 'Edit endpoint' });
    await edit.getByRole('checkbox', { name: 'record.deleted', exact: true }).check();
    await edit.getByLabel('Description (optional)').fill('Edited here');
    await edit.getByRole('checkbox', { name: /^Active/ }).check();
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached', ...WAIT });
    await row.locator('td.status').getByText('active', { exact: true }).waitFor(WAIT);
    const stored = await call(server, 'GET', `/webhooks/${created.body.id}`);
    expect(stored.body).toMatchObject({ is_active: true, description: 'Edited here', events: ['api_key.*', 'record.deleted'] });

    // A URL the server refuses comes back field by field in plain words, and nothing changes.
    await row.getByRole('button', { name: `Edit ${receiver.url}/edit-me` }).click();
    await edit.getByLabel('URL (https:// on a public address)').fill('http://10.0.0.1/hook');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.getByRole('alert').getByText('Some values are not valid.').waitFor(WAIT);
    await edit.getByRole('button', { name: 'Cancel' }).click();
    expect((await call(server, 'GET', `/webhooks/${created.body.id}`)).body.url).toBe(`${receiver.url}/edit-me`);

    await row.getByRole('button', { name: `Rotate secret of ${receiver.url}/edit-me` }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate the signing secret' });
    await rotate.getByLabel('Grace period for the previous secret').selectOption('1');
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = page.getByRole('dialog', { name: 'New signing secret' });
    await rotated.getByText(/the previous secret keeps signing beside it until/).waitFor(WAIT);
    const newSecret = (await rotated.getByTestId('new-secret').textContent())!.trim();
    expect(newSecret).toMatch(/^whsec_/);
    await rotated.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.content()).not.toContain(newSecret);

    await row.getByRole('button', { name: `Delete ${receiver.url}/edit-me` }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this endpoint?' });
    await confirm.getByRole('button', { name: 'Delete endpoint' }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    expect((await call(server, 'GET', `/webhooks/${created.body.id}`)).status).toBe(404);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('offers nothing that changes webhooks to a key that may only read them, no Delete without webhooks:delete, and no page without webhooks:read', async () => {
    const reader = await call(server, 'POST', '/api-keys', { body: { name: 'Webhook reader', scopes: ['api-keys:read', 'webhooks:read'] } });
    expect(reader.status).toBe(201);
    const { context, page, problems } = await openConsole(browser, server.url, VIEWPORT);
    await signIn(page, reader.body.key);
    const nav = page.getByRole('navigation', { name: 'Pages' });
    await nav.getByRole('link', { name: 'Webhooks' }).click();
    const row = page.locator('tbody tr', { hasText: `${receiver.url}/console-hook` });
    await row.waitFor(WAIT);
    expect(await page.getByRole('button', { name: 'Add endpoint' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Test|Edit|Rotate secret of|Delete) / }).count()).toBe(0);
    await row.getByRole('link', { name: /^Deliveries of / }).click();
    await page.getByRole('status').filter({ hasText: /deliver(y|ies) match/ }).waitFor(WAIT);
    expect(await page.getByRole('button', { name: /^Retry now/ }).count()).toBe(0);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '4-webhooks-read-only.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign out' }).click();

    // Writing without deleting: every button but Delete.
    const writer = await call(server, 'POST', '/api-keys', { body: { name: 'Webhook writer', scopes: ['api-keys:read', 'webhooks:read', 'webhooks:write'] } });
    await signIn(page, writer.body.key);
    await nav.getByRole('link', { name: 'Webhooks' }).click();
    await row.getByRole('button', { name: `Test ${receiver.url}/console-hook` }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Add endpoint' }).waitFor(WAIT);
    expect(await row.getByRole('button', { name: /^Edit |^Rotate secret of / }).count()).toBe(2);
    expect(await page.getByRole('button', { name: /^Delete / }).count()).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();

    const keysOnly = await call(server, 'POST', '/api-keys', { body: { name: 'No webhooks', scopes: ['api-keys:read'] } });
    await signIn(page, keysOnly.body.key);
    await page.getByText('Scopes: api-keys:read').waitFor(WAIT);
    expect(await nav.getByRole('link').allTextContents()).not.toContain('Webhooks');
    await page.evaluate(() => {
      location.hash = '#/webhooks';
    });
    await page.getByText('This key cannot open this page: it needs the scope webhooks:read.').waitFor(WAIT);
    expect(problems).toEqual([]);
    await context.close();
  });
});
