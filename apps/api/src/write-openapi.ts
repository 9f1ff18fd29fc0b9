import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument, buildRouter } from '@charter/server';

/** Writes the committed `openapi.json` from the contracts. CI regenerates it and fails on any difference. */
const target = fileURLToPath(new URL('../openapi.json', import.meta.url));
const document = buildOpenApiDocument(buildRouter());
const stamped = {
  'x-generated': 'Generated from the contracts by `pnpm generate`. Do not edit by hand.',
  ...document,
};
await writeFile(target, `${JSON.stringify(stamped, null, 2)}\n`);
console.log(`Wrote ${target}`);
