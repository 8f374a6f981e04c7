export {
  RedisConnection,
  ioredisOptions,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_MIN_RETRY_BACKOFF_MS,
  DEFAULT_MAX_RETRY_BACKOFF_MS,
  type RedisConnectOptions,
} from './client';
export { RedisSharedCache, DEFAULT_ENTRY_TTL_MS, type RedisSharedCacheOptions, type SharedCacheStatus } from './shared-cache';
export { acquireGcLease, DEFAULT_GC_LEASE_TTL_MS, type GcLease } from './gc-lease';
export {
  RedisExpirySchedule,
  RedisFetchLocks,
  DEFAULT_FETCH_LOCK_TTL_MS,
  type ScheduleEntry,
  type ClaimedEntry,
  type FetchLock,
} from './proxy-coordination';
