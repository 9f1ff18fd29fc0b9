import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { onServer } from './support/gates.ts';

// The partner checks start their API with partners/lib/start-server.sh. Two runs side by side (two
// CI jobs on one machine) must not meet: each server picks a free port, and keeps its log and its
// embedded database in the folder its caller gives it.
const run = promisify(execFile);
const script = fileURLToPath(new URL('../partners/lib/start-server.sh', import.meta.url));
const started: number[] = [];
const folders: string[] = [];

async function stopped(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.kill(pid, 'SIGKILL');
}

afterAll(async () => {
  await Promise.all(started.map(stopped));
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function startServer(): Promise<{ folder: string; url: string; key: string; pid: number }> {
  const folder = await mkdtemp(join(tmpdir(), 'charter-partners-'));
  folders.push(folder);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_ENV;
  delete env.PORT;
  // On the embedded database the script gives the server one of its own, inside the folder.
  if (onServer) env.DATABASE_URL = inject('databaseUrl');
  else delete env.DATABASE_URL;
  const { stdout } = await run('bash', [script, folder], { env });
  const assignments = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)));
  started.push(Number(assignments.CHARTER_PID));
  return { folder, url: assignments.CHARTER_URL, key: assignments.CHARTER_KEY, pid: Number(assignments.CHARTER_PID) };
}

describe('the partner checks’ server', () => {
  it('starts twice side by side on free ports, with its log and data inside its own folder', async () => {
    const [first, second] = await Promise.all([startServer(), startServer()]);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(second.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.url).not.toBe(second.url);
    for (const server of [first, second]) {
      const modules = await fetch(`${server.url}/api/v1/modules`, { headers: { authorization: `Bearer ${server.key}` } });
      expect(modules.status).toBe(200);
      expect(await readFile(join(server.folder, 'server.log'), 'utf8')).toContain(`listening on ${server.url}`);
      if (!onServer) expect((await stat(join(server.folder, 'pglite'))).isDirectory()).toBe(true);
    }
  });
});
