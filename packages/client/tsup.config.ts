import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  // package.json is "type": "module": ESM is dist/index.js, CommonJS dist/index.cjs, each with its own declarations.
  format: ['esm', 'cjs'],
  dts: true,
  target: 'es2022',
  platform: 'neutral',
  clean: true,
  sourcemap: false,
  treeshake: true,
});
