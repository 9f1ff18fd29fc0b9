import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console at /console: the static build of apps/console (`pnpm build` makes it), served from
 * this origin so that it needs no CORS and loads nothing from elsewhere. The page calls the public
 * API with the key a person pastes; the server gives it nothing the API does not.
 */

/** Everything from this origin, no inline script or style, no framing: an injected script has nowhere to come from. */
export const CONSOLE_SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'Referrer-Policy': 'no-referrer',
};

const TYPES = new Map([
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.png', 'image/png'],
  ['.ico', 'image/x-icon'],
  ['.woff2', 'font/woff2'],
]);
const HTML = 'text/html; charset=utf-8';

export function isConsolePath(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}

// Found by the workspace's layout rather than as a dependency: the console is built from the
// client, whose types come from this server's document, so a package dependency would be a cycle.
const buildDir = fileURLToPath(new URL('../../../../apps/console/dist', import.meta.url));
// The build's files by name, read once: a request can only name a file the build made.
let files: Promise<Map<string, string> | undefined> | undefined;
const cache = new Map<string, Buffer>();

async function listBuild(): Promise<Map<string, string> | undefined> {
  try {
    const found = new Map<string, string>();
    for (const name of await readdir(join(buildDir, 'assets'))) {
      if (TYPES.has(extname(name))) found.set(`assets/${name}`, join(buildDir, 'assets', name));
    }
    found.set('index.html', join(buildDir, 'index.html'));
    await readFile(join(buildDir, 'index.html'));
    return found;
  } catch {
    return undefined;
  }
}

export interface ConsoleAnswer {
  status: number;
  body: Buffer | string;
  type: string;
  headers: Record<string, string>;
}

/** The answer for a GET under /console, or undefined for a file the build does not have (a 404). */
export async function consoleAnswer(path: string): Promise<ConsoleAnswer | undefined> {
  files ??= listBuild();
  const build = await files;
  if (!build) {
    // Not cached: the next request looks again, so a build made while the server runs is picked up.
    files = undefined;
    const body = '<!doctype html><html lang="en"><title>Charter console</title><h1>The console is not built</h1><p>Run <code>pnpm build</code> (or <code>pnpm start</code>, which builds first), then reload.</p></html>';
    return { status: 503, body, type: HTML, headers: { ...CONSOLE_SECURITY_HEADERS, 'Cache-Control': 'no-store', 'Retry-After': '10' } };
  }
  const rest = path.slice('/console/'.length);
  const name = rest === '' ? 'index.html' : rest;
  const file = build.get(name);
  if (!file) return undefined;
  let body = cache.get(name);
  if (!body) {
    body = await readFile(file);
    cache.set(name, body);
  }
  // Assets carry a content hash in their name and never change; the page is checked on each visit.
  const caching = name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable';
  return { status: 200, body, type: name === 'index.html' ? HTML : TYPES.get(extname(name))!, headers: { ...CONSOLE_SECURITY_HEADERS, 'Cache-Control': caching } };
}
