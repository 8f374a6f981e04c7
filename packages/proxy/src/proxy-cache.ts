import {
  BlobUnknownError,
  ManifestUnknownError,
  type Registry,
  type BlobDescriptor,
  type Digest,
  type ManifestReference,
  type PassingBlob,
  type PullThroughCache,
  type StoredManifest,
} from '@berth/registry';
import type { Logger } from '@berth/logging';
import type { StorageDriver } from '@berth/storage-driver';
import { BlobCache, type BlobFetchLocks } from './blob-cache';
import { ExpiryScheduler, type CachedKind, type ExpiryEntry, type SharedExpirySchedule } from './expiry-scheduler';
import { SharedExpiryScheduler } from './shared-expiry-scheduler';
import { ManifestCache } from './manifest-cache';
import { UpstreamClient, type UpstreamTimeouts } from './upstream-client';

/** What `ProxyCache.start` needs; the cli builds it from the `proxy` section of config.yml. */
export interface ProxyCacheOptions {
  /**
   * The registry the API serves (built with `pullThrough: true`): the cache stores what it fetches
   * through it (`cacheRepository`), as an ordinary registry tree, with the same upload locks and
   * limits (`maxManifestBytes`).
   */
  readonly registry: Registry;
  /** The registry's storage driver: the expiry schedule is saved in it (`SCHEDULER_STATE_PATH`). */
  readonly driver: StorageDriver;
  /** `proxy.remoteurl`: the upstream's base URL (`https://registry-1.docker.io`); a path is kept as a prefix. */
  readonly remoteUrl: string;
  /** `proxy.username` / `proxy.password`: sent to the upstream (Basic) or to its token server. */
  readonly username?: string;
  readonly password?: string;
  /** `proxy.ttl` in ms: cached content is removed this long after it was fetched; 0 keeps it. */
  readonly ttlMs: number;
  readonly logger: Logger;
  readonly timeouts?: UpstreamTimeouts;
  /** Tuning of the expiry scheduler (tests shorten these). */
  readonly expiry?: {
    readonly saveIntervalMs?: number;
    readonly minSweepIntervalMs?: number;
    readonly pollIntervalMs?: number;
    readonly retryDelayMs?: number;
    readonly now?: () => number;
  };
  /**
   * What the replicas share (`redis` configured): the expiry schedule (instead of the state file)
   * and one upstream fetch per blob across replicas.
   */
  readonly shared?: {
    readonly schedule: SharedExpirySchedule;
    readonly fetchLocks: BlobFetchLocks;
    /** How long a miss waits at most for another replica's fetch of the same blob (default 5 min). */
    readonly fetchLockWaitMs?: number;
  };
}

/**
 * The pull-through cache (`proxy.remoteurl`): a `PullThroughCache` for the API over the registry
 * it serves. Manifests and blobs missing from storage are fetched from the upstream, verified
 * and stored while they stream (see `ManifestCache`, `BlobCache`); from then on the ordinary read
 * path serves them. With a TTL, an `ExpiryScheduler` removes what was fetched once it is older than
 * the TTL: the manifest's revision and the tags pointing at it, the blob's `_layers` link. Blob
 * data is left for garbage collection, which removes data no repository links to.
 */
export class ProxyCache implements PullThroughCache {
  private readonly registry: Registry;
  private readonly upstream: UpstreamClient;
  private readonly manifests: ManifestCache;
  private readonly blobs: BlobCache;
  private readonly scheduler: ExpiryScheduler | SharedExpiryScheduler | undefined;

  private constructor(options: ProxyCacheOptions) {
    const logger = options.logger;
    this.registry = options.registry;
    const credentials =
      options.username || options.password ? { username: options.username ?? '', password: options.password ?? '' } : undefined;
    this.upstream = new UpstreamClient({ remoteUrl: options.remoteUrl, credentials, timeouts: options.timeouts, logger });
    if (options.ttlMs > 0) {
      const schedulerOptions = {
        driver: options.driver,
        ttlMs: options.ttlMs,
        logger,
        onExpire: (entry: ExpiryEntry) => this.expire(entry),
        ...options.expiry,
      };
      this.scheduler = options.shared
        ? new SharedExpiryScheduler({ ...schedulerOptions, shared: options.shared.schedule })
        : new ExpiryScheduler(schedulerOptions);
    }
    const cached = (name: string, digest: Digest, kind: CachedKind): void => this.scheduler?.add(name, digest, kind);
    const maxManifestBytes = this.registry.maxManifestBytes;
    this.manifests = new ManifestCache({ registry: this.registry, upstream: this.upstream, logger, maxManifestBytes, cached });
    this.blobs = new BlobCache({
      registry: this.registry,
      upstream: this.upstream,
      logger,
      cached,
      fetchLocks: options.shared?.fetchLocks,
      fetchLockWaitMs: options.shared?.fetchLockWaitMs,
    });
  }

  /** Builds the cache and starts its expiry scheduler (reading the persisted schedule). */
  static async start(options: ProxyCacheOptions): Promise<ProxyCache> {
    const cache = new ProxyCache(options);
    try {
      await cache.scheduler?.start();
    } catch (error) {
      await cache.upstream.close().catch(() => undefined);
      throw error;
    }
    options.logger.info('serving as a pull-through cache', { upstream: cache.upstream.origin, ttlMs: options.ttlMs });
    return cache;
  }

  getManifest(name: string, reference: ManifestReference): Promise<StoredManifest> {
    return this.manifests.get(name, reference);
  }

  statBlob(name: string, digest: Digest): Promise<BlobDescriptor> {
    return this.blobs.stat(name, digest);
  }

  fetchBlob(name: string, digest: Digest, mode: 'stream' | 'store'): Promise<PassingBlob | undefined> {
    return this.blobs.fetch(name, digest, mode);
  }

  /** Blob fetches from the upstream running now (each may serve several requests). */
  get blobFetchesInFlight(): number {
    return this.blobs.inFlight;
  }

  /** What this process's expiry schedule holds now, earliest first (empty without a TTL, or when the schedule is shared). */
  scheduled(): ExpiryEntry[] {
    return this.scheduler instanceof ExpiryScheduler ? this.scheduler.list() : [];
  }

  /** What the expiry schedule holds now, the shared one when there is one, earliest first. */
  async scheduledAll(): Promise<ExpiryEntry[]> {
    return (await this.scheduler?.listAll()) ?? [];
  }

  /** Stops the scheduler (saving the schedule to the state file when not shared) and closes upstream connections. Call before closing the driver. */
  async close(): Promise<void> {
    await this.scheduler?.stop();
    await this.upstream.close();
  }

  /**
   * Removes expired content named `<repository>@<digest>`, in whichever form it is cached: the
   * manifest revision with the tags pointing at it, and the `_layers` link (through
   * `cacheRepository`: expiry deletes even when clients may not, `storage.delete.enabled` off).
   */
  private async expire(entry: ExpiryEntry): Promise<void> {
    const repo = this.registry.cacheRepository(entry.name);
    try {
      await repo.manifests.delete({ digest: entry.digest });
    } catch (error) {
      if (!(error instanceof ManifestUnknownError)) throw error;
    }
    try {
      await repo.blobs.delete(entry.digest);
    } catch (error) {
      if (!(error instanceof BlobUnknownError)) throw error;
    }
  }
}
