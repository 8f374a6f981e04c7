export { Registry, Repository, DEFAULT_MAX_MANIFEST_BYTES, DEFAULT_CATALOG_MAX_ENTRIES, DEFAULT_CATALOG_PAGE_SIZE, DEFAULT_MAX_TAGS, DEFAULT_TAG_CONCURRENCY_LIMIT } from './registry';
export type { RegistryOptions } from './registry';
export { assertWritable, type WritePolicy, type WriteKind } from './write-policy';
export * from './errors';
export { Digest, HashingStream, SUPPORTED_ALGORITHMS, isSupportedAlgorithm, type DigestAlgorithm } from './digest';
export { assertRepositoryName, assertTag, isRepositoryName, isTag, NAME_REGEXP, TAG_REGEXP, MAX_NAME_LENGTH, UPLOAD_ID_REGEXP } from './names';
export { MediaType, essence } from './media-types';
export { parseManifest, describeStoredManifest, MAX_MANIFEST_DEPTH, MAX_MANIFEST_DESCRIPTORS, type Descriptor, type ParsedManifest, type StoredManifestInfo } from './manifest-parse';
export { parseReference, type ManifestReference, type StoredManifest, type PutManifestResult, ManifestService } from './manifest-service';
export type { BlobDescriptor, BlobStore } from './blob-store';
export { BlobService } from './blob-service';
export { UploadService, type UploadStatus, type ChunkOptions } from './upload-service';
export { UploadHashCache, type UploadDigestQuery, type UploadHashPeers } from './upload-hash-cache';
export { KeyedMutex, mapLimit, type KeyedLock } from './concurrency';
export { TagService, type TagDetail } from './tag-service';
export type { PullThroughCache, PassingBlob } from './pull-through';
export { ReferrerService, fallbackTag, type ReferrerDescriptor, type ReferrersIndex } from './referrer-service';
export { assertPageSize, paginate, type Page, type PageRequest } from './pagination';
export { pathFor, ROOT as STORAGE_ROOT, type PathSpec } from './paths';
export {
  purgeUploads,
  abortsMultipartUploads,
  type MultipartUploadAborting,
  type UploadPurgeOptions,
  type UploadPurgeReport,
  type StaleUpload,
} from './upload-purge';
export { UploadPurgeScheduler, firstPurgeDelay, MAX_FIRST_PURGE_DELAY_MS, type UploadPurgeScheduleOptions } from './upload-purge-scheduler';
export * from './gc';
export { Policies, NO_POLICIES, globToRegExp, type PolicyRule, type RetentionRule, type MatchedRule } from './policies/rules';
export { UsageTracker, DEFAULT_USAGE_MAX_AGE_MS, type UsageReport, type RepositoryUsage } from './policies/usage';
export {
  applyRetention,
  formatRetentionReport,
  retainsTags,
  type RetentionOptions,
  type RetentionReport,
  type RepositoryRetention,
  type TagDecision,
  type ManifestDecision,
} from './policies/retention';
export { GLOBAL_SCOPE, CacheField, SHARED_CONTENT_MAX_BYTES, type SharedMetadataCache, type SharedLookup } from './shared-cache';
