import { defineConfig } from 'vitest/config';
import { reporters } from '../scripts/vitest-reporters.mts';

export default defineConfig({ test: { reporters: reporters(), include: ['src/**/*.test.ts'] } });
