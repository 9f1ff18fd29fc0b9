import { defineConfig } from 'vitest/config';
import { reporters } from '../scripts/vitest-reporters.mts';

export default defineConfig({
  test: {
    reporters: reporters(),
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['./support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The embedded PGlite runs one session: connections from parallel files would interleave
    // their statements in it, so on PGlite the files take turns. A PostgreSQL server takes two at once.
    fileParallelism: Boolean(process.env.DATABASE_URL),
    maxWorkers: 2,
  },
});
