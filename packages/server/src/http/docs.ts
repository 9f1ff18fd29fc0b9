import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { API_BASE_PATH } from '@charter/contracts';

/**
 * The human API reference at /docs: Swagger UI, served from the swagger-ui-dist package on this
 * machine (no CDN), so it works offline. It renders /api/v1/openapi.json.
 */
const ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { file: 'favicon-32x32.png', type: 'image/png' },
};

const assetDir = (createRequire(import.meta.url)('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();
const cache = new Map<string, Buffer>();

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
  <script>
    window.ui = SwaggerUIBundle({
      url: '${API_BASE_PATH}/openapi.json',
      dom_id: '#reference',
      deepLinking: true,
      persistAuthorization: true,
      tryItOutEnabled: true,
      // The default validator badge calls an outside service; the page must work offline.
      validatorUrl: null,
    });
  </script>
</body>
</html>
`;

/** A docs asset by its file name, or undefined when there is no such asset. */
export async function docsAsset(name: string): Promise<{ body: Buffer; type: string } | undefined> {
  // Own entries only: `/docs/constructor` must not find Object.prototype's member.
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) return undefined;
  let body = cache.get(name);
  if (!body) {
    body = await readFile(join(assetDir, asset.file));
    cache.set(name, body);
  }
  return { body, type: asset.type };
}
