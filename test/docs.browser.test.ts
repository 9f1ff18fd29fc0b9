import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchBrowser, NO_BROWSER_REASON } from './support/browser.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const title = chromiumPath ? 'the /docs page in a real browser' : `the /docs page in a real browser (${NO_BROWSER_REASON})`;

describe.skipIf(!chromiumPath)(title, () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('renders under its Content-Security-Policy, and a pasted key is never written to storage', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const outside: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url) && !request.url().startsWith('data:')) outside.push(request.url());
    });

    await page.goto(`${server.url}/docs`);
    // Swagger UI has read the document and drawn its operations: the page's script ran under the policy.
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThan(10);

    await page.locator('button.authorize').first().click();
    const input = page.locator('.modal-ux input[type="text"], .modal-ux input[type="password"]').first();
    await input.fill(server.key);
    await page.locator('.modal-ux button.authorize').first().click();
    await page.locator('.modal-ux button.btn-done, .modal-ux .close-modal').first().click();

    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
    expect(stored).not.toContain(server.key);
    await page.reload();
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    const afterReload = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    expect(afterReload).not.toContain(server.key);

    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  });
});
