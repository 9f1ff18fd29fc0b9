// Fails when the console's production JavaScript is over its budget, measured min+gzip as it is
// served. Run after `vite build` (turbo runs build before test).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 150 * 1024;
const assets = join(import.meta.dirname, '..', 'dist', 'assets');
let files;
try {
  files = readdirSync(assets).filter((name) => name.endsWith('.js'));
} catch {
  console.error(`No build at ${assets}: run \`pnpm build\` first.`);
  process.exit(1);
}
if (files.length === 0) {
  console.error(`No JavaScript in ${assets}: the build is incomplete.`);
  process.exit(1);
}
let total = 0;
for (const name of files) {
  const size = gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
  total += size;
  console.log(`${name}: ${(size / 1024).toFixed(2)} kB min+gzip`);
}
const verdict = total <= BUDGET_BYTES ? 'within' : 'OVER';
console.log(`console JavaScript: ${(total / 1024).toFixed(2)} kB min+gzip, ${verdict} the budget of ${BUDGET_BYTES / 1024} kB`);
if (total > BUDGET_BYTES) process.exit(1);
