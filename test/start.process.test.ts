import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, runApiScript, startApiProcess } from './support/process.ts';
import { call } from './support/server.ts';

let folder: string;
let running: ApiProcess | undefined;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'charter-start-'));
});
afterAll(async () => {
  await running?.stop('SIGKILL');
  await rm(folder, { recursive: true, force: true });
});

describe('the first start', () => {
  it('on an empty embedded database creates a workspace and prints its key once; the key works', async () => {
    const env = { CHARTER_DATA_DIR: join(folder, 'fresh') };
    running = await startApiProcess(env, 150_000);
    await expect.poll(() => running?.output() ?? '').toMatch(/curl -H/);
    const printed = /^ {2}(sk_live_[0-9A-Za-z]{38})$/m.exec(running.output());
    expect(printed, running.output()).not.toBeNull();
    const key = printed?.[1] as string;
    const modules = await call({ url: running.url, key }, 'GET', '/modules');
    expect(modules.status).toBe(200);
    expect(await running.stop('SIGTERM')).toBe(0);

    // Shown once: a restart on the same data creates and prints nothing, and the key still works.
    running = await startApiProcess(env, 150_000);
    expect(running.output()).not.toMatch(/sk_live_/);
    expect((await call({ url: running.url, key }, 'GET', '/modules')).status).toBe(200);
    const keys = await call({ url: running.url, key }, 'GET', '/api-keys');
    expect(keys.body.data).toHaveLength(1);
    expect(await running.stop('SIGTERM')).toBe(0);
    running = undefined;
    // A fresh embedded database takes its time to set up on a busy machine.
  }, 300_000);
});

describe('settings that cannot work stop the start before the database is set up', () => {
  it('a HOST that does not resolve', async () => {
    const dataDir = join(folder, 'bad-host');
    const result = await runApiScript('src/main.ts', [], { HOST: 'nope.invalid', PORT: '0', CHARTER_DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid settings:');
    expect(result.stderr).toMatch(/HOST="nope\.invalid": not a resolvable name/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a HOST that is not an address of this machine', async () => {
    const dataDir = join(folder, 'foreign-host');
    // TEST-NET-1 (RFC 5737): never assigned to a machine, so binding to it fails at once.
    const result = await runApiScript('src/main.ts', [], { HOST: '192.0.2.1', PORT: '0', CHARTER_DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('HOST="192.0.2.1": not an address of this machine');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a PORT already in use', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const dataDir = join(folder, 'busy-port');
      const result = await runApiScript('src/main.ts', [], { HOST: '127.0.0.1', PORT: String(port), CHARTER_DATA_DIR: dataDir });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`PORT=${port}: already in use on 127.0.0.1`);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });
});
