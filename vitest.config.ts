import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores: two files at a time.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          // No servers: pure functions, and workflows on Temporal's time-skipping test server
          // (one per file, started by the file; the setup only installs it).
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/unit/global-setup.ts'],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // Real servers (PostgreSQL, the Temporal dev server), started once and shared by the files.
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
