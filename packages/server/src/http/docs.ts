import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { API_BASE_PATH } from '@charter/contracts';

/**
 * The human API reference at /docs: Swagger UI, served from the swagger-ui-dist package on this
 * machine (no CDN), so it works offline. It renders /api/v1/openapi.json.
 */

/**
 * Sent with the page and its assets. Everything comes from this origin and no inline script runs,
 * so an injected script has nowhere to come from; Swagger UI sets inline styles and data: images.
 */
export const DOCS_SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'Referrer-Policy': 'no-referrer',
};

export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Charter API reference</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// A file of its own rather than an inline script, so that the page's policy allows no inline script.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: '${API_BASE_PATH}/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  // A key pasted into "Authorize" lives only as long as the tab: never written to localStorage.
  persistAuthorization: false,
  tryItOutEnabled: true,
  // The default validator badge calls an outside service; the page must work offline.
  validatorUrl: null,
});
`;

const JS = 'text/javascript; charset=utf-8';
// A Map, not an object literal: a name like "constructor" must not find Object.prototype's.
const ASSETS = new Map<string, { file: string; type: string } | { text: string; type: string }>([
  ['swagger-ui.css', { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' }],
  ['swagger-ui-bundle.js', { file: 'swagger-ui-bundle.js', type: JS }],
  ['favicon-32x32.png', { file: 'favicon-32x32.png', type: 'image/png' }],
  ['init.js', { text: INIT_SCRIPT, type: JS }],
]);

// The package's folder, found from its package.json: loading the package itself would evaluate its
// 1.7 MB browser bundle at every start (about 0.2 s of CPU and 40 MB of memory) for a path.
const assetDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const cache = new Map<string, Buffer>();

/** A docs asset by its file name, or undefined when there is no such asset. */
export async function docsAsset(name: string): Promise<{ body: Buffer; type: string } | undefined> {
  const asset = ASSETS.get(name);
  if (!asset) return undefined;
  let body = cache.get(name);
  if (!body) {
    body = 'text' in asset ? Buffer.from(asset.text) : await readFile(join(assetDir, asset.file));
    cache.set(name, body);
  }
  return { body, type: asset.type };
}
