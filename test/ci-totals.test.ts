import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// CI's last line sums vitest's totals, read from the JSON reports every package's vitest writes
// (scripts/vitest-reporters.mts) and added up by .ci/test-totals.mjs. This runs vitest on a small
// project with a test of each outcome, as the packages do, and checks the sum CI would print.
const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const vitest = fileURLToPath(new URL('./node_modules/vitest/vitest.mjs', import.meta.url));

let project: string;
let reports: string;
beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'charter-ci-totals-'));
  reports = join(project, 'reports');
  await writeFile(
    join(project, 'vitest.config.mjs'),
    `import { reporters } from ${JSON.stringify(join(root, 'scripts/vitest-reporters.mts'))};\n` +
      `export default { test: { globals: true, include: ['*.test.mjs'], reporters: reporters() } };\n`,
  );
  await writeFile(join(project, 'pass.test.mjs'), `it('passes', () => {});\nit('passes too', () => {});\n`);
  await writeFile(join(project, 'fail.test.mjs'), `it('passes', () => {});\nit('fails', () => { throw new Error('no'); });\n`);
  await writeFile(join(project, 'skip.test.mjs'), `it.skip('is skipped (skipped: for this test)', () => {});\nit.todo('is to do');\n`);
  await writeFile(join(project, 'broken.test.mjs'), `throw new Error('this file does not load');\n`);
});
afterAll(() => rm(project, { recursive: true, force: true }));

describe("CI's test totals", () => {
  it('count every passed, failed and skipped test, and a file that did not load as one failure', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CHARTER_TEST_REPORT_DIR: reports };
    delete env.VITEST;
    delete env.NODE_ENV;
    const vitestRun = await run(process.execPath, [vitest, 'run'], { cwd: project, env }).then(
      () => 0,
      (error: { code?: number }) => error.code ?? -1,
    );
    expect(vitestRun).toBe(1);
    expect(await readdir(reports)).toHaveLength(1);
    const { stdout } = await run(process.execPath, [join(root, '.ci/test-totals.mjs'), reports]);
    // 3 passed; 1 failed test + 1 file that did not load; 1 skipped + 1 to do.
    expect(stdout.trim()).toBe('3 2 2');
  });
});
