import type { BerthConfig } from '@berth/config';
import type { Logger } from '@berth/logging';
import type { RedisConnection, RedisSharedCache } from '@berth/redis';

/** Redis as configured (`redis`), and the shared cache over it when `storage.cache.blobdescriptor: redis`. */
export interface RedisState {
  readonly connection: RedisConnection;
  readonly sharedCache?: RedisSharedCache;
  close(): Promise<void>;
}

/** `redis` → the client's options (durations in milliseconds). */
export function redisConnectOptions(config: BerthConfig, logger: Logger): import('@berth/redis').RedisConnectOptions {
  const r = config.redis;
  return {
    addrs: r.addrs ?? [],
    masterName: r.mastername,
    username: r.username,
    password: r.password,
    sentinelUsername: r.sentinelusername,
    sentinelPassword: r.sentinelpassword,
    db: r.db,
    clientName: r.clientname,
    dialTimeoutMs: r.dialtimeout,
    readTimeoutMs: r.readtimeout,
    writeTimeoutMs: r.writetimeout,
    minRetryBackoffMs: r.minretrybackoff,
    maxRetryBackoffMs: r.maxretrybackoff,
    tls: r.tls,
    logger,
  };
}

/**
 * Connects to Redis when the configuration has a `redis` section (undefined otherwise; the client
 * is loaded only then). Waits for the first connection up to `redis.dialtimeout`: an unreachable
 * server is a warning, and the connection keeps trying while requests use storage.
 */
export async function openRedis(config: BerthConfig, logger: Logger): Promise<RedisState | undefined> {
  if ((config.redis.addrs?.length ?? 0) === 0) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { RedisConnection, RedisSharedCache } = require('@berth/redis') as typeof import('@berth/redis');
  const redisLogger = logger.child({ component: 'redis' });
  const connection = new RedisConnection(redisConnectOptions(config, redisLogger));
  await connection.start();
  const sharedCache = config.storage.cache.blobdescriptor === 'redis' ? new RedisSharedCache(connection, { logger: redisLogger }) : undefined;
  return {
    connection,
    sharedCache,
    async close() {
      sharedCache?.close();
      await connection.close();
    },
  };
}
