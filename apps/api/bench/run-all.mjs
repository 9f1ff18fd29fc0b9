// `pnpm bench`: runs every benchmark in this folder (each `*.bench.ts`), one after the other so
// that none measures while another loads the machine. The retention purge has a bench of its own,
// run by hand (purge.bench.ts says how). Arguments are passed on to each benchmark.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts') && name !== 'purge.bench.ts')
  .sort();
let failed = 0;
for (const name of benches) {
  console.log(`\n#### ${name}\n`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(here, name), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`${name} failed (exit ${run.status ?? run.signal})`);
    failed += 1;
  }
}
process.exit(failed === 0 ? 0 : 1);
