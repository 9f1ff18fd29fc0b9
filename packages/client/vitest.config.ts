import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Sources and tests only: never the compiled copies in dist/.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: {
      include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
  },
});
