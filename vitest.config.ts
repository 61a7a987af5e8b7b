// Test runner settings: one fork at a time per file, generous timeouts for tfjs start-up on 2 cores.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // package.json "imports" point #platform/* at dist/ (Node or browser build); tests run the Node sources.
  resolve: {
    alias: [
      {
        find: /^#platform\/(.*)$/,
        replacement: fileURLToPath(new URL('./src/platform/$1.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
