import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument, buildRouter, downgradeToOpenApi30 } from '@charter/server';

/**
 * Writes the committed documents from the contracts: `openapi.json` (OpenAPI 3.1) and
 * `openapi-3.0.json` (the same, in OpenAPI 3.0.3, for generators that do not read 3.1).
 * CI regenerates them and fails on any difference.
 */
const STAMP = 'Generated from the contracts by `pnpm generate`. Do not edit by hand.';
const document = buildOpenApiDocument(buildRouter());

for (const [file, content] of [
  ['../openapi.json', document],
  ['../openapi-3.0.json', downgradeToOpenApi30(document)],
] as const) {
  const target = fileURLToPath(new URL(file, import.meta.url));
  await writeFile(target, `${JSON.stringify({ 'x-generated': STAMP, ...content }, null, 2)}\n`);
  console.log(`Wrote ${target}`);
}
