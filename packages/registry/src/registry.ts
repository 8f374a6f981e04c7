import type { Logger, StorageDriver } from '@berth/storage-driver';
import { BlobService } from './blob-service';
import { BlobStore } from './blob-store';
import { listRepositories } from './catalog';
import { KeyedMutex, type KeyedLock } from './concurrency';
import { noopLogger, type RegistryContext, type RepositoryContext } from './context';
import { ManifestService } from './manifest-service';
import { assertRepositoryName } from './names';
import { assertPageSize, paginate, type Page, type PageRequest } from './pagination';
import { NO_POLICIES, Policies, type PolicyRule } from './policies/rules';
import { applyRetention, type RetentionOptions, type RetentionReport } from './policies/retention';
import { UsageTracker, type UsageReport } from './policies/usage';
import { ReferrerService } from './referrer-service';
import type { SharedMetadataCache } from './shared-cache';
import { Storage } from './storage';
import { TagService } from './tag-service';
import { UploadHashCache, type UploadHashPeers } from './upload-hash-cache';
import { UploadService } from './upload-service';
import { CACHE_WRITES, type WritePolicy } from './write-policy';

/** Manifests up to this many bytes are accepted by default (the spec asks for at least 4 MB). */
export const DEFAULT_MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** `catalog.maxentries` default (distribution's). */
export const DEFAULT_CATALOG_MAX_ENTRIES = 1000;
/** Catalog entries returned when the request has no `n` (distribution 2.8's `defaultReturnedEntries`). */
export const DEFAULT_CATALOG_PAGE_SIZE = 100;
/** `tags.maxtags` default (distribution's). */
export const DEFAULT_MAX_TAGS = 1000;
/** `storage.tag.concurrencylimit` default: tag links read at once when searching tags by digest. */
export const DEFAULT_TAG_CONCURRENCY_LIMIT = 16;

export interface RegistryOptions {
  /** The storage driver, already wrapped (`wrapDriver`). */
  readonly driver: StorageDriver;
  readonly logger?: Logger;
  /** `storage.delete.enabled`: without it, deletes throw `UnsupportedError`. */
  readonly deleteEnabled: boolean;
  /** `storage.maintenance.readonly.enabled`: every push and delete throws `UnsupportedError`. */
  readonly readOnly?: boolean;
  /**
   * `proxy.remoteurl`: the registry is a pull-through cache; pushes and deletes from clients throw
   * `UnsupportedError`, and the cache fills itself through `cacheRepository`.
   */
  readonly pullThrough?: boolean;
  /** Largest manifest accepted, in bytes (default 8 MiB). */
  readonly maxManifestBytes?: number;
  /** `catalog.maxentries`: the largest `n` a catalog request may ask for (default 1000). */
  readonly catalogMaxEntries?: number;
  /** `tags.maxtags`: a tag list's `n` above this is lowered to it (default 1000), like distribution 3. */
  readonly maxTags?: number;
  /**
   * `storage.tag.concurrencylimit`: how many tag links are read (or tags removed) at once when the
   * tags pointing at a digest are looked up, on a manifest delete (default 16).
   */
  readonly tagConcurrencyLimit?: number;
  /**
   * `storage.cache.blobdescriptor: inmemory`: remember this many blob sizes by digest
   * (`blobdescriptorsize`; 0 = no bound), least recently used out. Undefined = no cache.
   */
  readonly blobDescriptorCacheSize?: number;
  /** Upload hash states kept per process (default 10,000). */
  readonly hashCacheSize?: number;
  /** The process's upload hash states, when the caller answers other processes from them (default: a new cache). */
  readonly hashCache?: UploadHashCache;
  /** Other processes serving the same storage, asked for a digest this process lacks. */
  readonly hashPeers?: UploadHashPeers;
  /** The upload session lock, when it must hold across processes (default: a per-process `KeyedMutex`). */
  readonly uploadLocks?: KeyedLock;
  /** `policies`: immutable tags, retention and quotas per repository glob (first match wins). */
  readonly policies?: readonly PolicyRule[];
  /** How old a usage report may be with respect to other processes' writes (default 30 s). */
  readonly usageMaxAgeMs?: number;
  /**
   * `storage.cache.blobdescriptor: redis`: tags, links, tag lists, blob sizes and small manifests
   * shared by every process and replica, invalidated by every write before it answers (see
   * `SharedMetadataCache`). The per-process blob descriptor cache is then not used.
   */
  readonly sharedCache?: SharedMetadataCache;
}

/** The services of one repository. Cheap to build; build one per request. */
export class Repository {
  readonly blobs: BlobService;
  readonly uploads: UploadService;
  readonly tags: TagService;
  readonly manifests: ManifestService;
  readonly referrers: ReferrerService;

  constructor(readonly ctx: RepositoryContext) {
    this.blobs = new BlobService(ctx);
    this.uploads = new UploadService(ctx, this.blobs);
    this.tags = new TagService(ctx);
    this.manifests = new ManifestService(ctx, this.blobs, this.tags);
    this.referrers = new ReferrerService(ctx, this.manifests);
  }

  get name(): string {
    return this.ctx.name;
  }
}

/**
 * The registry over one storage driver: the entry point of the services, built once per process
 * (the cli's composition root) and shared by the HTTP API and the pull-through cache. Holds the
 * per-process state (upload hash cache, upload locks) and the write policy; several `Registry`
 * instances on the same storage behave like several processes.
 */
export class Registry {
  private readonly ctx: RegistryContext;

  constructor(options: RegistryOptions) {
    const storage = new Storage(options.driver);
    const shared = options.sharedCache;
    const blobStore = new BlobStore(storage, shared ? undefined : options.blobDescriptorCacheSize, shared);
    const logger = options.logger ?? noopLogger;
    this.ctx = {
      storage,
      blobStore,
      logger,
      writes: { deleteEnabled: options.deleteEnabled, readOnly: options.readOnly ?? false, pullThrough: options.pullThrough ?? false },
      maxManifestBytes: options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
      catalogMaxEntries: options.catalogMaxEntries ?? DEFAULT_CATALOG_MAX_ENTRIES,
      maxTags: options.maxTags ?? DEFAULT_MAX_TAGS,
      tagConcurrencyLimit: options.tagConcurrencyLimit ?? DEFAULT_TAG_CONCURRENCY_LIMIT,
      hashCache: options.hashCache ?? new UploadHashCache(options.hashCacheSize),
      hashPeers: options.hashPeers,
      uploadLocks: options.uploadLocks ?? new KeyedMutex(),
      policies: options.policies ? new Policies(options.policies) : NO_POLICIES,
      usage: new UsageTracker(storage, blobStore, logger, options.usageMaxAgeMs),
      shared,
    };
  }

  /** The configured `policies`. */
  get policies(): Policies {
    return this.ctx.policies;
  }

  /**
   * Storage usage of every repository (`GET /v2/_berth/usage`): never older than this process's
   * writes, at most `usageMaxAgeMs` behind other processes' (see `UsageTracker`).
   */
  usage(): Promise<UsageReport> {
    return this.ctx.usage.report();
  }

  /**
   * Applies the retention of `policies` now (docs/policies.md): deletes the tags and manifests the
   * rules do not keep, or only reports them with `dryRun`. Refused (`UnsupportedError`) in read-only
   * mode and on a pull-through cache unless `dryRun`.
   */
  retention(options: RetentionOptions = {}): Promise<RetentionReport> {
    return applyRetention(this.ctx, options);
  }

  get maxManifestBytes(): number {
    return this.ctx.maxManifestBytes;
  }

  /** Which writes clients may make (`UnsupportedError` for the others). */
  get writePolicy(): WritePolicy {
    return this.ctx.writes;
  }

  /** The shared metadata cache, when configured (garbage collection invalidates it). */
  get sharedCache(): SharedMetadataCache | undefined {
    return this.ctx.shared;
  }

  /** The global blob store: blob data by digest, whichever repositories link it. */
  get blobStore(): BlobStore {
    return this.ctx.blobStore;
  }

  /** The services of repository `name`; `NameInvalidError` when the name is not valid. */
  repository(name: string): Repository {
    assertRepositoryName(name);
    return new Repository({ ...this.ctx, name });
  }

  /**
   * The services of repository `name` for the pull-through cache filling itself: the same storage,
   * upload locks and hash states as `repository`, but writes are not refused by the write policy
   * (the cache stores what it fetched, and its expiry deletes it, while clients may not write).
   */
  cacheRepository(name: string): Repository {
    assertRepositoryName(name);
    return new Repository({ ...this.ctx, name, writes: CACHE_WRITES, policies: NO_POLICIES });
  }

  /** Every repository name in lexical order, from one listing of the tree (the web UI pages them itself). */
  async repositories(): Promise<string[]> {
    return listRepositories(this.ctx.storage);
  }

  /**
   * A page of repository names in lexical order. `n` defaults to 100 and may not exceed
   * `catalogMaxEntries` (`PaginationNumberInvalidError`), like distribution 2.8.
   */
  async catalog(request: PageRequest = {}): Promise<Page<string>> {
    assertPageSize(request.n, this.ctx.catalogMaxEntries);
    const n = request.n ?? Math.min(DEFAULT_CATALOG_PAGE_SIZE, this.ctx.catalogMaxEntries);
    return paginate(await listRepositories(this.ctx.storage), { n, last: request.last });
  }
}
