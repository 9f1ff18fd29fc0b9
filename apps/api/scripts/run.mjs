// Runs an entry point of the API from its build: `node scripts/run.mjs main` (the server) or
// `node scripts/run.mjs cli <arguments>`. It builds `dist/` first when it is missing or older than
// any file it was built from, so that `pnpm start` on a fresh clone, or after an edit, runs the
// sources as they are; otherwise it costs a few file checks. The entry point runs in this process,
// so signals (SIGTERM, Ctrl-C) reach the server itself.
import { build, isStale, outdir } from './build.mjs';
import { buildConsole, consoleIsStale } from './console-build.mjs';

const ENTRY_POINTS = ['main', 'cli', 'worker'];
const entry = process.argv[2];
if (!ENTRY_POINTS.includes(entry ?? '')) {
  console.error(`Usage: node scripts/run.mjs <${ENTRY_POINTS.join('|')}> [arguments]`);
  process.exit(2);
}
if (await isStale()) {
  const started = performance.now();
  const count = await build();
  console.error(`Built apps/api/dist from ${count} files in ${Math.round(performance.now() - started)} ms.`);
}
if (entry === 'main' && (await consoleIsStale())) {
  const started = performance.now();
  buildConsole();
  console.error(`Built the console (apps/console/dist) in ${Math.round(performance.now() - started)} ms.`);
}
// The entry point reads its own arguments from process.argv, after the script's path.
process.argv.splice(2, 1);
await import(new URL(`file://${outdir}/${entry}.js`).href);
