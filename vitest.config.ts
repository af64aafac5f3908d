import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.git/**'],
    // Starts one throwaway PostgreSQL for the whole run; test files get their own database from it.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Child processes rather than worker threads: native addons and process-wide state (signals, cwd) stay isolated.
    pool: 'forks',
  },
});
