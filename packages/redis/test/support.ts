import type { Logger } from '@berth/logging';
import { RedisConnection } from '@berth/redis';
import { redisSkipReason, startRedis, type TestRedis } from '../../../test-support/redis';

export const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => quiet };

/** `describe`, or `describe.skip` where redis-server cannot run (a failure with BERTH_REQUIRE_REDIS=1). */
export const describeRedis = redisSkipReason() ? describe.skip : describe;

/**
 * One real redis-server for the enclosing `describe` (started in its beforeAll, stopped with every
 * connection in its afterAll); `connect()` opens a started connection to it, as each replica would.
 */
export function redisPerSuite(readTimeoutMs: number): { connect(): Promise<RedisConnection> } {
  let redis: TestRedis;
  const connections: RedisConnection[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of connections) await c.close();
    await redis?.close();
  });
  return {
    async connect() {
      const c = new RedisConnection({ addrs: [redis.addr], dialTimeoutMs: 1000, readTimeoutMs, logger: quiet });
      connections.push(c);
      await c.start();
      return c;
    },
  };
}
