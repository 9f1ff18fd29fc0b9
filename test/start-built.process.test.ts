import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/server.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const rootScripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** A root script of package.json as an argument list (they are plain `node …` commands, no shell syntax). */
function command(script: string, ...extra: string[]): [string, string[]] {
  const [program, ...args] = (rootScripts[script] as string).split(' ');
  expect(program).toBe('node');
  return [process.execPath, [...args, ...extra]];
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.NODE_ENV;
  return { ...base, ...extra };
}

let folder: string;
let server: ChildProcess | undefined;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'charter-built-'));
});
afterAll(async () => {
  server?.kill('SIGKILL');
  await rm(folder, { recursive: true, force: true });
});

describe('pnpm start and pnpm cli run the API built into plain JavaScript', () => {
  it('rebuild apps/api/dist when a source is newer than the build, and only then', async () => {
    // A source of another package, reached only through the bundle: touching it makes the build stale.
    const source = join(root, 'packages', 'db', 'src', 'migrate.ts');
    const now = new Date();
    await utimes(source, now, now);
    const [node, args] = command('cli', '--help');
    const first = await run(node, args, { cwd: root, env: env({}) });
    expect(first.stderr).toMatch(/^Built apps\/api\/dist from \d+ files/m);
    expect(first.stdout).toContain('Usage: pnpm cli create-workspace');
    const second = await run(node, args, { cwd: root, env: env({}) });
    expect(second.stderr).not.toContain('Built');
    expect(second.stdout).toContain('Usage: pnpm cli create-workspace');
  });

  it('serve the API with its migrations and its docs assets, from the build, and the CLI shares its data', async () => {
    const dataDir = join(folder, 'pglite');
    const [node, args] = command('start');
    expect(args).toContain('apps/api/scripts/run.mjs');
    const child = spawn(node, args, { cwd: root, env: env({ PORT: '0', CHARTER_DATA_DIR: dataDir }), stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    await expect.poll(() => output, { timeout: 240_000, interval: 100 }).toMatch(/curl -H/);
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1] as string;
    const key = /^ {2}(sk_live_[0-9A-Za-z]{38})$/m.exec(output)?.[1] as string;
    // The process serving is node running the bundle: no TypeScript loader in it.
    expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).not.toContain('tsx');

    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
    // Found through import.meta.url of packages/server's own source, which the bundle keeps.
    const asset = await fetch(`${url}/docs/swagger-ui.css`);
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(1000);
    // Tables made by the migrations, read from packages/db's folder.
    const created = await call({ url, key }, 'POST', '/modules', { body: { name: 'Built' } });
    expect(created.status).toBe(201);

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    server = undefined;

    const [cli, cliArgs] = command('cli', 'create-workspace', '--name', 'Second', '--json');
    const second = await run(cli, cliArgs, { cwd: root, env: env({ CHARTER_DATA_DIR: dataDir }) });
    expect(JSON.parse(second.stdout.trim()).key).toMatch(/^sk_live_[0-9A-Za-z]{38}$/);
  });
});
