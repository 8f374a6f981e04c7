export {
  collectGarbage,
  DEFAULT_GC_CONCURRENCY,
  DEFAULT_GC_GRACE_PERIOD_MS,
  DEFAULT_GC_SETTLE_MS,
  type GarbageCollectOptions,
} from './collect';
export { formatBytes, summarizeReport, type CollectedBlob, type CollectedManifest, type GarbageCollectReport, type GcProgressEvent } from './report';
export { GC_ROOT } from './layout';
export { manifestReferences, type ManifestRefs } from './manifest-refs';
export { GcScheduler, type GcScheduleOptions } from './scheduler';
