import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, runApiScript, startApiProcess } from './support/process.ts';
import { call } from './support/server.ts';

let dataDir: string;
let running: ApiProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'charter-embedded-'));
});
afterAll(async () => {
  await running?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('the runnable API on its embedded database', () => {
  it('creates a workspace from the CLI, serves it, stops on SIGTERM and keeps its data across a restart', async () => {
    const env = { CHARTER_DATA_DIR: dataDir };
    const created = await runApiScript('src/cli.ts', ['create-workspace', '--name', 'Acme', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { key, workspace_id: workspaceId } = JSON.parse(created.stdout.trim().split('\n').at(-1) as string);
    expect(key).toMatch(/^sk_live_[0-9A-Za-z]{38}$/);
    expect(workspaceId).toMatch(/^ws_/);

    running = await startApiProcess(env);
    expect(running.output()).toContain('embedded PostgreSQL (PGlite)');
    const server = { url: running.url, key };
    expect((await fetch(`${running.url}/api/v1/health`)).status).toBe(200);
    const module = await call(server, 'POST', '/modules', { body: { name: 'Survives restarts' } });
    expect(module.status).toBe(201);

    // A second process on the same embedded database would corrupt it: it is refused, by name.
    const meanwhile = await runApiScript('src/cli.ts', ['create-workspace', '--name', 'Too soon'], env);
    expect(meanwhile.code).toBe(1);
    expect(meanwhile.stderr).toContain(`is in use by process ${running.child.pid}`);

    expect(await running.stop('SIGTERM')).toBe(0);
    expect(running.output()).toContain('Stopped.');

    running = await startApiProcess(env);
    const again = await call({ url: running.url, key }, 'GET', `/modules/${module.body.id}`);
    expect(again.status).toBe(200);
    expect(again.body.name).toBe('Survives restarts');
    expect(await running.stop('SIGTERM')).toBe(0);
    running = undefined;
  });

  it('refuses bad settings at start with a message naming each one', async () => {
    const result = await runApiScript('src/main.ts', [], {
      PORT: 'eighty',
      DATABASE_URL: 'mysql://nope',
      MAX_BODY_BYTES: '12',
      IDEMPOTENCY_RETENTION_HOURS: '12',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid settings:');
    expect(result.stderr).toContain('PORT="eighty": must be a whole number');
    expect(result.stderr).toContain('DATABASE_URL="mysql://nope": must be a postgres:// or postgresql:// URL');
    expect(result.stderr).toMatch(/MAX_BODY_BYTES="12": must be at least 1024/);
    expect(result.stderr).toContain('IDEMPOTENCY_RETENTION_HOURS="12": must be at least 24');
  });

  it('prints the CLI usage for an unknown command', async () => {
    const result = await runApiScript('src/cli.ts', ['make-coffee'], { CHARTER_DATA_DIR: dataDir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown command "make-coffee"');
  });
});
