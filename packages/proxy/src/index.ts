export { ProxyCache, type ProxyCacheOptions } from './proxy-cache';
export {
  ExpiryScheduler,
  SCHEDULER_STATE_PATH,
  type ExpiryEntry,
  type ExpirySchedulerOptions,
  type CachedKind,
  type SharedExpirySchedule,
} from './expiry-scheduler';
export { SharedExpiryScheduler } from './shared-expiry-scheduler';
export type { BlobFetchLocks } from './blob-cache';
export { UpstreamClient, MANIFEST_ACCEPT, type UpstreamTimeouts } from './upstream-client';
export { parseChallenges, type Challenge } from './challenge';
export { verifiedTee, ReaderGoneError } from './verified-tee';
