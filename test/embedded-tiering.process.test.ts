import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const cliScript = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.cli as string;

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'charter-tiering-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** `pnpm cli create-workspace …` on the embedded database in `folder`, with V8 options before the script. */
async function createWorkspace(name: string, v8Options: string[] = []): Promise<string> {
  const [program, ...args] = cliScript.split(' ');
  expect(program).toBe('node');
  const env: NodeJS.ProcessEnv = { ...process.env, CHARTER_DATA_DIR: join(folder, 'pglite') };
  delete env.DATABASE_URL;
  delete env.NODE_ENV;
  const { stdout } = await run(process.execPath, [...v8Options, ...args, 'create-workspace', '--name', name, '--json'], { cwd: root, env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe('opening an existing embedded database', () => {
  it('optimizes none of PostgreSQL’s run-once start-up code', async () => {
    await createWorkspace('Tiering, first'); // makes the folder (initdb runs in a process of its own)
    const stdout = await createWorkspace('Tiering, second', ['--trace-wasm-compilation-times']);
    // The command did its work: the workspace and its key (on the one JSON line among V8's trace).
    const created = JSON.parse(stdout.split('\n').find((line) => line.startsWith('{')) as string) as { workspace_id: string; key: string };
    expect(created.workspace_id).toMatch(/^ws_/);
    expect(created.key).toMatch(/^sk_live_/);
    // V8 prints one line per function compiled; at its default tier-up budget some 80 of PostgreSQL's
    // functions were recompiled by the optimizing compiler during this one call (connect() raises the budget).
    const optimized = stdout.split('\n').filter((line) => line.includes('using TurboFan'));
    expect(optimized.length, optimized.slice(0, 5).join('\n')).toBeLessThan(5);
    // The trace itself works: the baseline compiler's lines are there.
    expect(stdout).toContain('using Liftoff');
  });
});
