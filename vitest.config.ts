import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // test/cluster/ needs a Redis Cluster: `npm run test:cluster` (vitest.cluster.config.ts).
    exclude: ['node_modules/**', 'dist/**', 'test/cluster/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Multi-process tests start their own gateways and Redis servers; keep the
    // 2-core machine from being oversubscribed.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default', './test/helpers/SummaryReporter.ts'],
  },
});
