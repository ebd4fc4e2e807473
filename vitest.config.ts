import { defineConfig } from 'vitest/config';

// In CI the runner's own JSON report feeds .ci/run's final "N passed, N failed" line.
const ci = process.env.CI === 'true';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: ci ? ['default', 'json'] : ['default'],
    outputFile: ci ? { json: '.ci/test-results.json' } : undefined,
  },
});
