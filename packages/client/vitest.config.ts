import { defineConfig } from 'vitest/config';
import { reporters } from '../../scripts/vitest-reporters.mts';

export default defineConfig({
  test: {
    reporters: reporters(),
    // Sources and tests only: never the compiled copies in dist/.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: {
      include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
  },
});
