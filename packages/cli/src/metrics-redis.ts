import { Counter, Gauge, type Registry } from 'prom-client';

/** What the metrics read of the shared cache (a subset of @berth/redis' `SharedCacheStatus`). */
export interface RedisStatusLike {
  readonly connected: boolean;
  readonly usable: boolean;
  readonly hits: number;
  readonly misses: number;
  readonly fallbacks: number;
  readonly invalidationFailures: number;
}

/**
 * `registry_redis_*`: read from the connection and the shared cache at each scrape. Without Redis
 * they export nothing.
 */
export class RedisMetrics {
  private source: (() => RedisStatusLike) | undefined;

  constructor(registers: Registry[]) {
    const read = (): RedisStatusLike | undefined => this.source?.();
    new Gauge({
      name: 'registry_redis_connected',
      help: 'The connection to Redis is up (1) or not (0).',
      aggregator: 'min',
      registers,
      collect(this: Gauge) {
        this.reset();
        const status = read();
        if (status) this.set(status.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'registry_redis_cache_usable',
      help: 'Lookups are answered from the shared cache (1), or by storage while Redis is down or an invalidation is pending (0).',
      aggregator: 'min',
      registers,
      collect(this: Gauge) {
        this.reset();
        const status = read();
        if (status) this.set(status.usable ? 1 : 0);
      },
    });
    new Counter({
      name: 'registry_redis_cache_lookups_total',
      help: 'Shared cache lookups by result: hit, miss, or fallback (answered by storage, the cache being unusable or failing).',
      labelNames: ['result'],
      registers,
      collect(this: Counter<'result'>) {
        this.reset();
        const status = read();
        if (!status) return;
        this.inc({ result: 'hit' }, status.hits);
        this.inc({ result: 'miss' }, status.misses);
        this.inc({ result: 'fallback' }, status.fallbacks);
      },
    });
    new Counter({
      name: 'registry_redis_cache_invalidation_failures_total',
      help: 'Invalidations that failed (the write answered 503 and the cache was not used until a new epoch).',
      registers,
      collect(this: Counter) {
        this.reset();
        const status = read();
        if (status) this.inc(status.invalidationFailures);
      },
    });
  }

  watch(source: () => RedisStatusLike): void {
    this.source = source;
  }
}
