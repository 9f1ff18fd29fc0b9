import { defineConfig } from 'vitest/config';
import { reporters } from '../scripts/vitest-reporters.mts';

export default defineConfig({
  test: {
    reporters: reporters(),
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['./support/global-setup.ts'],
    // Caps on a hang, not expectations of speed: tests wait for conditions and end when they hold.
    // Starting server processes on a fresh embedded database takes minutes on a loaded 2-core machine.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // The embedded PGlite runs one session: connections from parallel files would interleave
    // their statements in it, so on PGlite the files take turns. A PostgreSQL server takes two at once.
    fileParallelism: Boolean(process.env.DATABASE_URL),
    maxWorkers: 2,
  },
});
