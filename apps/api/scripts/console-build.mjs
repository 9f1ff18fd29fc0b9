// The console (apps/console) is served by the API from its static build. `pnpm start` builds it
// first when the build is missing or older than any of its sources (its own, and the client's it
// bundles), the client first; otherwise this costs a few file checks. The same rule as `isStale`
// in build.mjs, for the console's files.
import { spawnSync } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rootDir = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const builtPage = join(rootDir, 'apps/console/dist/index.html');
const sources = [
  'apps/console/src',
  'apps/console/index.html',
  'apps/console/vite.config.ts',
  'apps/console/package.json',
  'packages/client/src',
  'packages/client/package.json',
  'pnpm-lock.yaml',
].map((path) => join(rootDir, path));

async function newestChange(path) {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestChange(join(path, entry)));
  return newest;
}

export async function consoleIsStale() {
  let builtAt;
  try {
    builtAt = (await stat(builtPage)).mtimeMs;
  } catch {
    return true;
  }
  for (const source of sources) if ((await newestChange(source)) > builtAt) return true;
  return false;
}

export function buildConsole() {
  // The client first (the console bundles its build), then the console: each package's own build
  // command, run with node so that no package manager needs to be on the PATH.
  for (const [dir, bin, args] of [
    ['packages/client', 'tsup', ['--silent']],
    ['apps/console', 'vite', ['build', '--logLevel', 'warn']],
  ]) {
    const run = spawnSync(join(rootDir, dir, 'node_modules/.bin', bin), args, { cwd: join(rootDir, dir), stdio: 'inherit' });
    if (run.status !== 0) throw new Error(`Building ${dir} failed (exit ${run.status ?? run.signal}).`);
  }
}
