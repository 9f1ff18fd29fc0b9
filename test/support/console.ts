import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** How long a browser test waits for something to appear: a cap on a hang, not an expectation of speed. */
export const WAIT = { timeout: 30_000 };

export interface ConsoleTab {
  context: BrowserContext;
  page: Page;
  /** Console errors, CSP refusals and uncaught exceptions of the page. */
  problems: string[];
  /** Requests that left the server's origin (the console loads nothing from elsewhere). */
  outside: string[];
}

/**
 * A fresh tab on the console at `serverUrl`, allowed to use the clipboard, that records the
 * page's problems and any request leaving the server's origin.
 */
export async function openConsole(browser: Browser, serverUrl: string, viewport = { width: 1280, height: 860 }): Promise<ConsoleTab> {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: serverUrl });
  const page = await context.newPage();
  const problems: string[] = [];
  const outside: string[] = [];
  page.on('console', (message) => {
    // The API's own 4xx answers are logged by the browser as failed loads; they are expected here.
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    else if (message.type() === 'error' && !/the server responded with a status of (4\d\d)/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(serverUrl) && !request.url().startsWith('data:')) outside.push(request.url());
  });
  await page.goto(`${serverUrl}/console`);
  return { context, page, problems, outside };
}

/** Signs in on the console's sign-in form with an API key. */
export async function signIn(page: Page, secret: string): Promise<void> {
  await page.getByLabel('API key').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now. */
export async function axe(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (an injected <script> would be refused).
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v: { impact: string }) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: { id: string; impact: string; nodes: Array<{ target: unknown }> }) => `${v.impact} ${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  });
}
