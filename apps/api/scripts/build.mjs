// Builds what `pnpm start`, `pnpm cli` and `pnpm worker` run: `src/main.ts`, `src/cli.ts` and `src/worker.ts`, each bundled with
// what it imports into one plain JavaScript file in `dist/`, so that they start with `node` alone.
// Running the sources through tsx compiled about 60 modules at every start and loaded some 300
// more one by one: about 0.6 s more CPU and 45 MB more memory at every start (README.md, "Footprint").
//
//   node scripts/build.mjs     builds dist/ (the package's `build`, so `pnpm build` does it too)
//
// `scripts/run.mjs` builds the same way, when a source changed, before it runs an entry point.
import { existsSync, statSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const apiDir = fileURLToPath(new URL('../', import.meta.url));
const rootDir = join(apiDir, '../..');
export const outdir = join(apiDir, 'dist');
const manifestFile = join(outdir, 'build-inputs.json');
const entryPoints = ['src/main.ts', 'src/cli.ts', 'src/worker.ts'];

/**
 * Packages left out of the bundle and loaded from where they are installed: PGlite reads its
 * WebAssembly and data files from beside its own module (and pglite-socket must share its module).
 */
const KEEP_IN_PLACE = ['@electric-sql/pglite', '@electric-sql/pglite-socket'];
/** What a module that reads files beside itself says; such a module must be kept in place, not bundled. */
const READS_OWN_LOCATION = /\bimport\.meta\.(url|resolve)\b|\b__dirname\b|\b__filename\b|\brequire\.resolve\b/;

/** A path from `dist/` to `file`, as an import specifier. */
function fromDist(file) {
  const path = relative(outdir, file).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/** Whether `dist/` is missing or older than any file it was built from (sources, the build scripts, the lockfile). */
export async function isStale() {
  let manifest;
  try {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  } catch {
    return true;
  }
  const watched = [...manifest.inputs, ...manifest.externals, fileURLToPath(import.meta.url), join(rootDir, 'pnpm-lock.yaml')];
  // Some 560 files: one synchronous stat each costs a few milliseconds in all, where awaiting each
  // in turn cost 25-110 ms on a loaded machine (a trip through the thread pool per file).
  for (const file of watched) {
    try {
      if (statSync(file).mtimeMs > manifest.builtAt) return true;
    } catch {
      return true; // deleted or moved: the bundle may point at it
    }
  }
  return false;
}

/**
 * - A package in KEEP_IN_PLACE becomes a relative import of the file Node resolves for the package
 *   that imports it (pnpm keeps each package's dependencies beside it, so `dist/` could not find it
 *   by name).
 * - `import.meta.url` in the workspace's own TypeScript becomes that source file's URL, so that paths
 *   relative to it (the migrations folder, a `createRequire` for swagger-ui-dist) mean what they
 *   mean in the sources. A bundled dependency that reads files beside itself fails the build.
 * - The workspace's modules are marked free of side effects at import, so that an entry point keeps
 *   only the modules it uses: the CLI leaves out the router, the contracts' schemas and the HTTP
 *   stack. A module imported only for its side effects (`import './x.ts'`) would then be dropped;
 *   esbuild warns about it, and any warning fails the build.
 */
const placement = {
  name: 'placement',
  setup(build) {
    const resolve = (args) => build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolved' });
    build.onResolve({ filter: /^(\.|@charter\/)/ }, async (args) => {
      if (args.pluginData === 'resolved' || args.importer.includes('/node_modules/')) return undefined;
      const resolved = await resolve(args);
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return { path: resolved.path, sideEffects: false };
    });
    build.onResolve({ filter: /^@electric-sql\// }, async (args) => {
      if (args.pluginData === 'resolved' || !KEEP_IN_PLACE.some((name) => args.path === name || args.path.startsWith(`${name}/`))) return undefined;
      const resolved = await resolve(args);
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      if (!isAbsolute(resolved.path)) return { errors: [{ text: `${args.path} did not resolve to a file` }] };
      return { path: fromDist(resolved.path), external: true };
    });
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const own = `new URL(${JSON.stringify(fromDist(args.path))}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', own), loader: 'ts' };
    });
    build.onLoad({ filter: /\/node_modules\/.*\.[cm]?js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!READS_OWN_LOCATION.test(source)) return undefined;
      return { errors: [{ text: `${args.path} reads files beside itself, which a bundle moves: add its package to KEEP_IN_PLACE in ${relative(rootDir, fileURLToPath(import.meta.url))}` }] };
    });
  },
};

/** Builds `dist/` and records what it was built from; returns how many files went in. */
export async function build() {
  const esbuild = await import('esbuild');
  const builtAt = Date.now();
  // Built beside dist/ and swapped in whole, so that two commands building at once (both found it
  // stale) never run or write a half-written one. A sibling folder: the relative paths are the same.
  const building = `${outdir}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  try {
    // One bundle per entry point, sharing nothing: each process loads only what it uses.
    const results = await Promise.all(
      entryPoints.map((entryPoint) =>
        esbuild.build({
          entryPoints: [entryPoint],
          absWorkingDir: apiDir,
          outdir: building,
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20.19',
          // Node's own conditions for `import` (node, import, default): not esbuild's extra `module`.
          conditions: [],
          // CommonJS dependencies in an ES module bundle still `require()` Node's built-ins.
          banner: { js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);" },
          sourcemap: true,
          metafile: true,
          logLevel: 'warning',
          plugins: [placement],
        }),
      ),
    );
    const warnings = results.reduce((sum, result) => sum + result.warnings.length, 0);
    if (warnings > 0) throw new Error(`The build of apps/api/dist had ${warnings} warning(s), printed above; each could change what runs.`);
    const inputs = new Set();
    const externals = new Set();
    for (const { metafile } of results) {
      for (const file of Object.keys(metafile.inputs)) inputs.add(join(apiDir, file));
      for (const output of Object.values(metafile.outputs)) {
        for (const entry of output.imports) {
          if (entry.external && entry.path.startsWith('.')) externals.add(join(outdir, entry.path));
        }
      }
    }
    await writeFile(join(building, 'build-inputs.json'), `${JSON.stringify({ builtAt, inputs: [...inputs], externals: [...externals] }, null, 1)}\n`);
    const previous = `${outdir}.previous-${process.pid}`;
    await rename(outdir, previous).catch(() => {});
    // Another command may have swapped in its own build of the same sources meanwhile: keep that one.
    await rename(building, outdir).catch((error) => {
      if (!existsSync(manifestFile)) throw error;
    });
    await rm(previous, { recursive: true, force: true });
    return inputs.size;
  } finally {
    await rm(building, { recursive: true, force: true });
    // The build service is a child process: a server that just built must not keep it.
    await esbuild.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  const count = await build();
  console.error(`Built apps/api/dist from ${count} files in ${Math.round(performance.now() - started)} ms.`);
}
