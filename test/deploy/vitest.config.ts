// `npm run test:deploy` (test/deploy): the images and the compose stack; not part of `npm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/deploy/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 45 * 60_000,
    reporters: ['verbose'],
  },
});
