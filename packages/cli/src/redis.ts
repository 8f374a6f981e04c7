import type { BerthConfig } from '@berth/config';
import type { Logger } from '@berth/logging';
import type { RedisConnection, RedisSharedCache } from '@berth/redis';

/** Redis as configured (`redis`), and the shared cache over it when `storage.cache.blobdescriptor: redis`. */
export interface RedisState {
  readonly connection: RedisConnection;
  readonly sharedCache?: RedisSharedCache;
  /** For health and metrics. */
  status(): import('@berth/redis').SharedCacheStatus & { readonly hasCache: boolean };
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
  // Connected: the first epoch renewal is one command; serve with the cache in use from the start.
  await sharedCache?.settled();
  const noCache = { usable: false, pendingInvalidations: 0, hits: 0, misses: 0, fallbacks: 0, invalidationFailures: 0 };
  return {
    connection,
    sharedCache,
    status: () =>
      sharedCache
        ? { ...sharedCache.status, hasCache: true }
        : { ...noCache, connected: connection.up, usable: connection.up, lastError: connection.error, hasCache: false },
    async close() {
      sharedCache?.close();
      await connection.close();
    },
  };
}

/** Exit code of `berth garbage-collect` when another collection holds the lease. */
export const GC_LEASE_HELD_EXIT_CODE = 3;

/**
 * Takes the garbage collection lease (one collection at a time across the replicas). Resolves with
 * the lease, or with a sentence saying who holds it or why it could not be taken.
 */
export async function takeGcLease(redis: RedisState, logger: Logger): Promise<{ lease: import('@berth/redis').GcLease } | { refused: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { acquireGcLease } = require('@berth/redis') as typeof import('@berth/redis');
  if (!redis.connection.up) return { refused: `redis is configured but not reachable (${redis.connection.error || 'no connection'}): the collection needs its lease` };
  try {
    const got = await acquireGcLease(redis.connection, { logger });
    return 'lease' in got ? got : { refused: `another garbage collection holds the lease (${got.heldBy})` };
  } catch (error) {
    return { refused: `the garbage collection lease could not be taken: ${error instanceof Error ? error.message : String(error)}` };
  }
}
