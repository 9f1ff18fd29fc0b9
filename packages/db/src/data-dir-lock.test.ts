import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDataDir } from './data-dir-lock.ts';

let folder: string;
afterEach(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('the embedded data folder lock', () => {
  it('admits one holder, refuses a second by name, and is free again once released', async () => {
    folder = await mkdtemp(join(tmpdir(), 'charter-lock-'));
    const dataDir = join(folder, 'pglite');
    const release = lockDataDir(dataDir);
    expect(await readFile(`${dataDir}.lock`, 'utf8')).toBe(String(process.pid));
    expect(() => lockDataDir(dataDir)).toThrow(`is in use by process ${process.pid}`);
    release();
    lockDataDir(dataDir)();
  });

  it('takes over a lock whose process is gone', async () => {
    folder = await mkdtemp(join(tmpdir(), 'charter-lock-'));
    const dataDir = join(folder, 'pglite');
    // Far above any pid the kernel hands out (pid_max is at most 2^22).
    await writeFile(`${dataDir}.lock`, String(2 ** 22 + 7));
    const release = lockDataDir(dataDir);
    expect(await readFile(`${dataDir}.lock`, 'utf8')).toBe(String(process.pid));
    release();
  });
});
