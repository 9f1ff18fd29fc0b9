import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ApiProcess, runApiScript, startApiProcess } from './support/process.ts';

let folder: string;
let running: ApiProcess | undefined;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'charter-mcp-setting-'));
});
afterAll(async () => {
  await running?.stop('SIGKILL');
  await rm(folder, { recursive: true, force: true });
});

/** What the MCP path answers a request without a key: 401 where MCP is served, 404 where it is not. */
async function mcpStatus(url: string): Promise<number> {
  const response = await fetch(`${url}/api/v1/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  await response.body?.cancel();
  return response.status;
}

describe('MCP_ENABLED', () => {
  it('refuses a value other than true or false before the database is set up', async () => {
    const dataDir = join(folder, 'bad');
    const result = await runApiScript('src/main.ts', [], { MCP_ENABLED: 'yes', PORT: '0', CHARTER_DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('MCP_ENABLED="yes": must be true or false');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('turns /api/v1/mcp on in the runnable API; it is off by default', async () => {
    // The run's database when it is a server; else an embedded one of this test's own.
    const database = inject('databaseKind') === 'postgres' ? { DATABASE_URL: inject('databaseUrl') } : { CHARTER_DATA_DIR: join(folder, 'data') };
    running = await startApiProcess({ ...database, MCP_ENABLED: 'true' }, 150_000);
    expect(await mcpStatus(running.url)).toBe(401);
    expect(await running.stop('SIGTERM')).toBe(0);
    running = await startApiProcess(database, 150_000);
    expect(await mcpStatus(running.url)).toBe(404);
    expect(await running.stop('SIGTERM')).toBe(0);
    running = undefined;
  }, 300_000);
});
