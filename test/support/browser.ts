import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's chromium (`.ci/run` installs it with apt-get when missing): no browser is downloaded.
 * CHROMIUM_PATH points elsewhere. Undefined when there is none, and browser tests skip, saying so.
 */
export const chromiumPath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (candidate): candidate is string => candidate !== undefined && candidate !== '' && existsSync(candidate),
);

export const NO_BROWSER_REASON = 'skipped: no chromium on this machine (apt-get install chromium, or set CHROMIUM_PATH)';

export async function launchBrowser(): Promise<Browser> {
  if (!chromiumPath) throw new Error(NO_BROWSER_REASON);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
