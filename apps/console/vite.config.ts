import { defineConfig } from 'vite';

// The API serves the build at /console; `pnpm dev` proxies /api to a running API (same origin, no CORS).
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
  server: { host: '127.0.0.1', proxy: { '/api': process.env.CHARTER_API_URL ?? 'http://127.0.0.1:3000' } },
});
