import { loadConfig, type Config } from '../../common/config.js';
import { GatewayNode, type GatewayNodeOptions } from '../../server/GatewayNode.js';
import { JWT_SECRET, REDIS_URL, deletePrefix, uniquePrefix } from './env.js';

/** A gateway in the test process, on its own Redis key prefix. */
export async function startGateway(overrides: Partial<Config> = {}, options: GatewayNodeOptions = {}): Promise<{ node: GatewayNode; url: string; http: string; prefix: string; close: () => Promise<void> }> {
  const prefix = overrides.redisPrefix ?? uniquePrefix();
  const config = loadConfig(
    { HOST: '127.0.0.1', PORT: '0', FLASHCAST_JWT_SECRET: JWT_SECRET },
    { redisPrefix: prefix, drainMs: 0, ...overrides },
  );
  const node = await GatewayNode.create(config, REDIS_URL, options);
  const port = node.port;
  return {
    node,
    prefix,
    url: `ws://127.0.0.1:${port}/ws`,
    http: `http://127.0.0.1:${port}`,
    close: async () => {
      await node.close();
      await deletePrefix(prefix);
    },
  };
}
