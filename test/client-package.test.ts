import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

const run = promisify(execFile);
const clientDir = fileURLToPath(new URL('../packages/client/', import.meta.url));
const tsc = fileURLToPath(new URL('./node_modules/.bin/tsc', import.meta.url));

let server: TestServer;
let project: string;
let checkout: string;

beforeAll(async () => {
  server = await startTestServer();
  project = await mkdtemp(join(tmpdir(), 'charter-client-consumer-'));
  // The client's sources as a fresh clone has them: no dist/. Packed from a copy, so that its build
  // never replaces the dist/ other test files import.
  checkout = await mkdtemp(join(tmpdir(), 'charter-client-checkout-'));
  const copy = join(checkout, 'packages', 'client');
  for (const entry of ['src', 'scripts', 'package.json', 'README.md', 'tsconfig.json', 'tsup.config.ts']) await cp(join(clientDir, entry), join(copy, entry), { recursive: true });
  await cp(join(clientDir, '..', '..', 'tsconfig.base.json'), join(checkout, 'tsconfig.base.json'));
  await symlink(join(clientDir, 'node_modules'), join(copy, 'node_modules'), 'dir');
}, 180_000);
afterAll(async () => {
  await server?.close();
  if (project) await rm(project, { recursive: true, force: true });
  if (checkout) await rm(checkout, { recursive: true, force: true });
});

// No @types/node in the consumer: the client's types must stand on the DOM's fetch alone.
const SAMPLE = `import { Charter, NotFoundError, ValidationError } from '@charter/client';
declare const process: { env: Record<string, string | undefined> };

const charter = new Charter({ baseUrl: process.env.CHARTER_URL + '/api/v1', apiKey: process.env.CHARTER_KEY, throwOnError: true });

const module = await charter.POST('/modules', {
  body: { name: 'Packed ' + Date.now(), fields: [{ name: 'n', type: 'number', required: true }] },
});
for (let n = 1; n <= 60; n++) {
  await charter.POST('/modules/{module_id}/records', { params: { path: { module_id: module.data.id } }, body: { data: { n } } });
}
const seen: number[] = [];
for await (const record of charter.paginate('/modules/{module_id}/records', {
  params: { path: { module_id: module.data.id }, query: { limit: 25, sort: ['created_at', 'id'] } },
})) {
  // Without \`fields\`, every item has every property.
  seen.push(record.data.n as number);
}
let invalid = '';
try {
  await charter.POST('/modules/{module_id}/records', { params: { path: { module_id: module.data.id } }, body: { data: { n: 'x' } } });
} catch (error) {
  if (error instanceof ValidationError) invalid = Object.keys(error.errors ?? {}).join(',');
}
let missing = '';
try {
  await charter.GET('/modules/{module_id}', { params: { path: { module_id: 'mod_00000000000000000000000000' } } });
} catch (error) {
  if (error instanceof NotFoundError) missing = error.requestId ?? '';
}
console.log(JSON.stringify({ seen, invalid, missing }));
`;

describe('the published client, as an integrator installs it', () => {
  it('packs, installs into a project outside the workspace, typechecks and runs against the real server', async () => {
    // The README's install path before the package is published: `npm pack` in a clone, then `npm install <tarball>`.
    await run('npm', ['pack', '--pack-destination', project], { cwd: join(checkout, 'packages', 'client') });
    const tarball = (await readdir(project)).find((name) => name.endsWith('.tgz'));
    const { version } = JSON.parse(await readFile(join(clientDir, 'package.json'), 'utf8'));
    expect(tarball).toBe(`charter-client-${version}.tgz`);

    // `prepack` built it: the tarball holds dist/, and its package.json only ranges npm can install.
    const { stdout: listing } = await run('tar', ['-tzf', join(project, tarball!)]);
    expect(listing.split('\n').filter(Boolean).sort()).toEqual(
      ['README.md', 'dist/index.cjs', 'dist/index.d.cts', 'dist/index.d.ts', 'dist/index.js', 'package.json'].map((file) => `package/${file}`),
    );
    const { stdout: manifestText } = await run('tar', ['-xzOf', join(project, tarball!), 'package/package.json']);
    const manifest = JSON.parse(manifestText);
    const specifiers = Object.values({ ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies }) as string[];
    expect(specifiers.filter((specifier) => /^(catalog|workspace):/.test(specifier))).toEqual([]);

    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`], { cwd: project });
    await mkdir(join(project, 'src'));
    await writeFile(join(project, 'src', 'sample.ts'), SAMPLE);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
          outDir: 'dist', skipLibCheck: false, lib: ['ES2022', 'DOM'], types: [],
        },
        include: ['src'],
      }),
    );
    const compiled = await run(tsc, ['-p', project]).then(() => '', (error: { stdout: string }) => error.stdout);
    expect(compiled).toBe('');

    const { stdout } = await run(process.execPath, [join(project, 'dist', 'sample.js')], {
      env: { ...process.env, CHARTER_URL: server.url, CHARTER_KEY: server.key },
    });
    const result = JSON.parse(stdout.trim());
    expect(result.seen).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(result.invalid).toBe('data.n');
    expect(result.missing).toMatch(/^req_/);

    // CommonJS consumers get the same API.
    const { stdout: cjs } = await run(process.execPath, ['-e', "const c = require('@charter/client'); console.log(typeof c.Charter)"], { cwd: project });
    expect(cjs.trim()).toBe('function');
  }, 180_000);
});
