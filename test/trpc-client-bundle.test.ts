import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let outDir: string;
beforeAll(async () => {
  server = await startTestServer();
  outDir = await mkdtemp(join(tmpdir(), 'charter-trpc-bundle-'));
});
afterAll(async () => {
  await server.close();
  await rm(outDir, { recursive: true, force: true });
});

describe('the typed tRPC client for integrators', () => {
  it('bundles for a browser with no server code inside, and works over HTTP', async () => {
    const outfile = join(outDir, 'client.mjs');
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./support/trpc-integrator.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      metafile: true,
      outfile,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes('@trpc/client'))).toBe(true);
    // Neither the server, nor the contracts (Zod schemas), nor the server's own dependencies.
    const serverSide = inputs.filter((input) => /packages\/server\/|contracts\/src\/|\/zod\/|postgres|trpc-to-openapi|@trpc\/server\/dist\/adapters/.test(input));
    expect(serverSide).toEqual([]);

    const module = await createModule(server);
    const { charterTrpc } = (await import(pathToFileURL(outfile).href)) as typeof import('./support/trpc-integrator.ts');
    const trpc = charterTrpc(server.url, server.key);
    expect((await trpc.getModule.query({ module_id: module.id })).id).toBe(module.id);
  });
});
