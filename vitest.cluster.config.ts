/**
 * `npm run test:cluster`: the gateway, resume, commerce, settlement and SFU-locator suites on a
 * real Redis Cluster (scripts/redis-cluster.sh, started here unless FLASHCAST_TEST_CLUSTER_NODES
 * names one), then, alone (FLASHCAST_CLUSTER_FAILOVER=1), the test that kills a master mid-sale.
 */
import { execFileSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

const SUITES = [
  'test/gateway.test.ts',
  'test/multinode.test.ts',
  'test/live-sale.test.ts',
  'test/commerce/checkout.test.ts',
  'test/commerce/listings.test.ts',
  'test/commerce/outbox.test.ts',
  'test/commerce/payments.test.ts',
  'test/commerce/refunds.test.ts',
  'test/commerce/shipping.test.ts',
  'test/commerce/stock-versions.test.ts',
  'test/commerce/webhooks.test.ts',
  'test/commerce/worker-crash.test.ts',
  'test/sfu/multihost.test.ts',
  'test/cluster/connections.test.ts',
];
const FAILOVER = ['test/cluster/failover.test.ts'];

const nodes =
  process.env.FLASHCAST_TEST_CLUSTER_NODES ||
  execFileSync('bash', ['scripts/redis-cluster.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;

export default defineConfig({
  test: {
    ...base.test,
    include: process.env.FLASHCAST_CLUSTER_FAILOVER === '1' ? FAILOVER : SUITES,
    exclude: ['node_modules/**', 'dist/**'],
    env: { TEST_REDIS_URL: `redis+cluster://${nodes}`, FLASHCAST_TEST_CLUSTER_NODES: nodes },
  },
});
