#!/bin/sh
# What `npm publish` would do for @charter/client, without publishing: builds through `prepack`,
# packs, and checks the tarball holds the build and plain version ranges only (no pnpm `catalog:`
# or `workspace:` specifiers, which npm cannot install).
set -eu
cd "$(dirname "$0")/.."
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# --tag: a dry run still checks that a prerelease or an already-published version is not tagged "latest".
npm publish --dry-run --json --tag dry-run >"$out"
node -e '
const report = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
const result = report["@charter/client"] ?? report;
const files = result.files.map((file) => file.path);
for (const wanted of ["dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts", "package.json", "README.md"]) {
  if (!files.includes(wanted)) throw new Error(`The tarball lacks ${wanted}: ${files.join(", ")}`);
}
const manifest = require("./package.json");
const specs = Object.values({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.devDependencies, ...manifest.optionalDependencies });
const bad = specs.filter((spec) => /^(catalog|workspace):/.test(spec));
if (bad.length) throw new Error(`package.json holds pnpm-only specifiers: ${bad.join(", ")}`);
console.log(`npm publish --dry-run: ${result.id}, ${files.length} files, ${result.size} bytes packed`);
' "$out"
