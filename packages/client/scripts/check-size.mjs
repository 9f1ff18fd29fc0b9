// Fails when the published ESM bundle, minified and gzipped, grows past its budget.
// Measures this package's own code (openapi-fetch stays external, as consumers install it once)
// and, for information, the total with openapi-fetch bundled in.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// Moved from 5 KB to 5.5 KB for the shared rate-limit gate, the onAttempt hook and readable network and body errors (see README, Size).
const BUDGET_BYTES = 5.5 * 1024;
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// esbuild comes with tsup; resolve it from there rather than declaring a dependency of our own.
const require = createRequire(import.meta.url);
const esbuild = createRequire(require.resolve('tsup'))('esbuild');

const source = readFileSync(entry, 'utf8');
if (/from\s*['"]node:|require\(['"]node:/.test(source)) {
  console.error('dist/index.js imports a node: module; the client must run wherever fetch exists.');
  process.exit(1);
}

async function gzippedSize(bundle) {
  const { outputFiles } = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    external: bundle ? [] : ['openapi-fetch'],
  });
  const code = outputFiles[0].contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;
const own = await gzippedSize(false);
const total = await gzippedSize(true);
console.log(`@charter/client: ${kb(own.minified)} minified, ${kb(own.gzipped)} min+gzip (budget ${kb(BUDGET_BYTES)})`);
console.log(`with openapi-fetch bundled: ${kb(total.minified)} minified, ${kb(total.gzipped)} min+gzip (for information)`);
if (own.gzipped > BUDGET_BYTES) {
  console.error(`Over budget by ${own.gzipped - BUDGET_BYTES} bytes.`);
  process.exit(1);
}
