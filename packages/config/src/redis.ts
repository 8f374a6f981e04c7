import { ConfigError } from './errors';
import type { RedisConfig, StorageConfig } from './types';

/** `host:port` (IPv6 in brackets), port 1-65535. */
const ADDR = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/;

function checkAddr(key: string, addr: string): void {
  const match = ADDR.exec(addr);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) throw new ConfigError(key, `must be host:port (for example redis:6379), got ${JSON.stringify(addr)}`);
}

/**
 * The `redis` section resolved: v2.8's `addr` becomes `addrs: [addr]` (both given: they must agree);
 * every address is `host:port`; several addresses need `mastername` (they are then Sentinels; Redis
 * Cluster is not supported); a client certificate needs its key. `storage.cache.blobdescriptor: redis`
 * needs an address. Without the section: `{}` (no Redis).
 */
export function redisOf(resolved: Record<string, unknown>, present: boolean, storage: StorageConfig): RedisConfig {
  if (!present) {
    if (storage.cache.blobdescriptor === 'redis') {
      throw new ConfigError('redis.addrs', 'is required: storage.cache.blobdescriptor is redis (set redis.addrs, or v2.8 redis.addr, to the Redis server host:port)');
    }
    return {};
  }
  const redis = { ...resolved } as { -readonly [K in keyof RedisConfig]: RedisConfig[K] };
  const addrs = [...(redis.addrs ?? [])];
  if (redis.addr !== undefined && redis.addr !== '') {
    checkAddr('redis.addr', redis.addr);
    if (addrs.length === 0) addrs.push(redis.addr);
    else if (!addrs.includes(redis.addr)) throw new ConfigError('redis.addr', 'and redis.addrs name different servers: keep one of them (addrs is the v3 key)');
  }
  addrs.forEach((addr, i) => checkAddr(`redis.addrs.${i}`, addr));
  if (addrs.length === 0) {
    throw new ConfigError('redis.addrs', 'is required when the redis section is set (host:port of the Redis server, or of the Sentinels with redis.mastername)');
  }
  if (addrs.length > 1 && !redis.mastername) {
    throw new ConfigError('redis.addrs', 'lists several servers: that is a Sentinel setup and needs redis.mastername (Redis Cluster is not supported)');
  }
  redis.addrs = addrs;
  const tls = redis.tls ?? {};
  if ((tls.certificate ?? '') !== '' && (tls.key ?? '') === '') throw new ConfigError('redis.tls.key', 'is required with redis.tls.certificate');
  if ((tls.key ?? '') !== '' && (tls.certificate ?? '') === '') throw new ConfigError('redis.tls.certificate', 'is required with redis.tls.key');
  for (const key of ['dialtimeout', 'readtimeout', 'writetimeout'] as const) {
    const value = redis[key];
    if (value !== undefined && value < 0) throw new ConfigError(`redis.${key}`, `must not be negative (0 or unset: the default)`);
  }
  return redis;
}
