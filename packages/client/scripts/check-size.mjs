// Fails when the published ESM bundle, minified and gzipped and tree-shaken as a consumer's bundler
// would, grows past its budget: the client without the webhook verifier, and the verifier alone.
// Measures this package's own code (openapi-fetch stays external, as consumers install it once)
// and, for information, every export together and the total with openapi-fetch bundled in.
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

// The webhook verifier is for receivers: an application that only calls the API imports the
// client without it, and a bundler leaves it out (the package has no side effects). So the budget
// holds for everything but the verifier, and the verifier has a budget of its own.
const VERIFIER_EXPORTS = ['verifyWebhook', 'WebhookVerificationError', 'WebhookSignatureError', 'WebhookTimestampError', 'WebhookReplayError'];
const VERIFIER_BUDGET_BYTES = 1.5 * 1024;

const names = Object.keys(await import(entry));
const missing = VERIFIER_EXPORTS.filter((name) => !names.includes(name));
if (missing.length > 0) {
  console.error(`check-size.mjs lists verifier exports that dist/index.js lacks: ${missing.join(', ')}`);
  process.exit(1);
}

/** Min+gzip size of a bundle that imports `exported` from dist/index.js, as a consumer's bundler would tree-shake it. */
async function gzippedSize(exported, bundle) {
  const { outputFiles } = await esbuild.build({
    stdin: { contents: `export { ${exported.join(', ')} } from './index.js';`, resolveDir: fileURLToPath(new URL('../dist/', import.meta.url)), loader: 'js' },
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
const client = names.filter((name) => !VERIFIER_EXPORTS.includes(name));
const own = await gzippedSize(client, false);
const verifier = await gzippedSize(VERIFIER_EXPORTS, false);
const everything = await gzippedSize(names, false);
const total = await gzippedSize(names, true);
console.log(`@charter/client: ${kb(own.minified)} minified, ${kb(own.gzipped)} min+gzip (budget ${kb(BUDGET_BYTES)})`);
console.log(`verifyWebhook alone: ${kb(verifier.minified)} minified, ${kb(verifier.gzipped)} min+gzip (budget ${kb(VERIFIER_BUDGET_BYTES)})`);
console.log(`every export: ${kb(everything.gzipped)} min+gzip; with openapi-fetch bundled: ${kb(total.minified)} minified, ${kb(total.gzipped)} min+gzip (for information)`);
let over = false;
if (own.gzipped > BUDGET_BYTES) {
  console.error(`Over budget by ${own.gzipped - BUDGET_BYTES} bytes.`);
  over = true;
}
if (verifier.gzipped > VERIFIER_BUDGET_BYTES) {
  console.error(`The webhook verifier is over its budget by ${verifier.gzipped - VERIFIER_BUDGET_BYTES} bytes.`);
  over = true;
}
if (over) process.exit(1);
