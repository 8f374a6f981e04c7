import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BlobUnknownError,
  DigestInvalidError,
  RegistryError,
  SizeInvalidError,
  UnavailableError,
  type BlobDescriptor,
  type Digest,
  type PassingBlob,
  type Registry,
  type Repository,
} from '@berth/registry';
import type { Logger } from '@berth/logging';
import type { CachedKind } from './expiry-scheduler';
import { Flights } from './single-flight';
import type { UpstreamClient } from './upstream-client';
import { ReaderGoneError, verifiedTee } from './verified-tee';

/** What the blob side of the cache needs from its owner. */
export interface BlobCacheContext {
  /** The registry the cache fills (through `cacheRepository`). */
  readonly registry: Registry;
  readonly upstream: UpstreamClient;
  readonly logger: Logger;
  /** Records cached content for expiry. */
  readonly cached: (name: string, digest: Digest, kind: CachedKind) => void;
  /** Locks shared by the replicas (Redis): one upstream fetch per blob across all of them. */
  readonly fetchLocks?: BlobFetchLocks;
  /** How long a miss waits at most for another replica's fetch of the same blob (default 5 min). */
  readonly fetchLockWaitMs?: number;
}

/** A lock per blob digest held across replicas (`@berth/redis`'s `RedisFetchLocks`). */
export interface BlobFetchLocks {
  /** Takes the lock (renewed until released), or resolves undefined when another holds it. Rejects when it cannot be asked. */
  tryLock(digest: string): Promise<{ readonly holder: string; release(): Promise<void> } | undefined>;
}

/** Back-off while another replica fetches a blob: from the first to the last, doubling. */
const WAIT_FIRST_MS = 25;
const WAIT_MAX_MS = 1000;

/**
 * Blobs of a pull-through cache. A blob missing from a repository is fetched from the upstream
 * once per process however many requests ask for it at the same time (single flight per
 * repository and digest); it lands through an ordinary upload session, so it is hashed while it
 * streams and becomes visible (blob data moved into place, `_layers` link written) only when its
 * digest and size match. A blob whose data is already stored for another repository is linked
 * after a HEAD to the upstream confirms this repository has it, without downloading it again.
 */
export class BlobCache {
  private readonly flights = new Flights();

  constructor(private readonly ctx: BlobCacheContext) {}

  /** The upstream's size of a blob not cached in `name` (nothing is stored). */
  async stat(name: string, digest: Digest): Promise<BlobDescriptor> {
    const head = await this.ctx.upstream.headBlob(name, digest);
    if (!head) throw new BlobUnknownError(digest.toString());
    if (head.size !== undefined) return { digest, size: head.size };
    // No size announced: fetch it to know.
    await this.fetch(name, digest, 'store');
    return this.ctx.registry.cacheRepository(name).blobs.stat(digest);
  }

  /** See `PullThroughCache.fetchBlob`. */
  async fetch(name: string, digest: Digest, mode: 'stream' | 'store'): Promise<PassingBlob | undefined> {
    const repo = this.ctx.registry.cacheRepository(name);
    const key = `${name}@${digest}`;
    for (;;) {
      if ((await this.flights.idle(key)) && (await this.isCached(repo, digest))) return undefined;
      const release = this.flights.claim(key);
      if (release) return this.lead(repo, digest, mode, release);
    }
  }

  /** Number of fetches running (for tests). */
  get inFlight(): number {
    return this.flights.size;
  }

  private async lead(repo: Repository, digest: Digest, mode: 'stream' | 'store', releaseFlight: () => void): Promise<PassingBlob | undefined> {
    let handedOver = false;
    let lock: { release(): Promise<void> } | undefined;
    const release = (): void => {
      releaseFlight();
      void lock?.release();
    };
    try {
      if (await this.isCached(repo, digest)) return undefined;
      if (await this.linkStoredData(repo, digest)) return undefined;
      if (this.ctx.fetchLocks) {
        const taken = await this.lockOrWait(repo, digest, this.ctx.fetchLocks);
        if (taken === 'cached') return undefined;
        lock = taken;
      }
      const response = await this.ctx.upstream.getBlob(repo.name, digest);
      if (!response) throw new BlobUnknownError(digest.toString());
      const store = (body: Readable): Promise<void> => this.store(repo, digest, body, response.size);
      if (mode === 'store') {
        await store(response.body);
        return undefined;
      }
      const { reader, stored } = verifiedTee(response.body, store);
      stored.then(release, release);
      handedOver = true;
      return { size: response.size, body: reader };
    } finally {
      if (!handedOver) release();
    }
  }

  /**
   * Takes the replicas' fetch lock for `digest`; while another replica holds it, waits (polling
   * storage with back-off) for the blob to appear and links it ('cached'), or takes the lock over
   * once it is free (the other fetch failed, or its replica died and the lock expired). Without an
   * answer from the locks (Redis down), or after `fetchLockWaitMs`, fetches without the lock:
   * blobs are stored by digest, so a second fetch costs bandwidth, never correctness.
   */
  private async lockOrWait(
    repo: Repository,
    digest: Digest,
    locks: BlobFetchLocks,
  ): Promise<{ release(): Promise<void> } | 'cached' | undefined> {
    const deadline = Date.now() + (this.ctx.fetchLockWaitMs ?? 300_000);
    let pause = WAIT_FIRST_MS;
    let waited = false;
    for (;;) {
      let lock: { readonly holder: string; release(): Promise<void> } | undefined;
      try {
        lock = await locks.tryLock(digest.toString());
      } catch (error) {
        this.ctx.logger.warn('the blob fetch lock could not be taken; fetching from the upstream without it', {
          repository: repo.name,
          digest: digest.toString(),
          error: (error as Error).message,
        });
        return undefined;
      }
      if (lock) {
        // Another replica may have stored it between our last look and the lock.
        if (waited && ((await this.isCached(repo, digest)) || (await this.linkStoredData(repo, digest)))) {
          await lock.release();
          return 'cached';
        }
        return lock;
      }
      if (!waited) this.ctx.logger.debug('another replica fetches this blob from the upstream: waiting for it', { repository: repo.name, digest: digest.toString() });
      waited = true;
      if (Date.now() >= deadline) {
        this.ctx.logger.warn('waited too long for another replica to fetch a blob; fetching it from the upstream too', {
          repository: repo.name,
          digest: digest.toString(),
        });
        return undefined;
      }
      await sleep(pause);
      pause = Math.min(pause * 2, WAIT_MAX_MS);
      if ((await this.isCached(repo, digest)) || (await this.linkStoredData(repo, digest))) return 'cached';
    }
  }

  /**
   * Streams `body` into an upload session and commits it under `digest`. Any failure cancels the
   * session (nothing becomes visible); upstream failures and content that does not match the digest
   * or the announced size are `UnavailableError`.
   */
  private async store(repo: Repository, digest: Digest, body: Readable, size: number | undefined): Promise<void> {
    let upstreamError: Error | undefined;
    body.once('error', (error) => (upstreamError ??= error));
    const session = await repo.uploads.start({ algorithm: digest.algorithm });
    try {
      await repo.uploads.commit(session.id, digest, body, size !== undefined ? { length: size } : {});
    } catch (error) {
      await repo.uploads.cancel(session.id).catch(() => undefined);
      if (!body.destroyed) body.destroy();
      const details = { repository: repo.name, digest: digest.toString(), error: (upstreamError ?? (error as Error)).message };
      if (upstreamError instanceof ReaderGoneError) {
        this.ctx.logger.info('the client went away before the end of a blob from the upstream: not cached', details);
        throw upstreamError;
      }
      this.ctx.logger.warn('a blob from the upstream was not cached', details);
      if (error instanceof DigestInvalidError || error instanceof SizeInvalidError) {
        throw new UnavailableError(`the upstream sent content for ${digest} that does not match it: ${error.message}`);
      }
      if (upstreamError && !(error instanceof RegistryError)) {
        throw new UnavailableError(`the upstream failed while sending ${digest}: ${upstreamError.message}`);
      }
      throw error;
    }
    this.ctx.cached(repo.name, digest, 'blob');
    this.ctx.logger.debug('blob cached from the upstream', { repository: repo.name, digest: digest.toString() });
  }

  private async isCached(repo: Repository, digest: Digest): Promise<boolean> {
    try {
      await repo.blobs.stat(digest);
      return true;
    } catch (error) {
      if (error instanceof BlobUnknownError) return false;
      throw error;
    }
  }

  /** Links blob data stored for another repository once the upstream confirms `repo` has it too. */
  private async linkStoredData(repo: Repository, digest: Digest): Promise<boolean> {
    const stored = await this.ctx.registry.blobStore.stat(digest);
    if (!stored) return false;
    const size = stored.size;
    const head = await this.ctx.upstream.headBlob(repo.name, digest);
    if (!head) throw new BlobUnknownError(digest.toString());
    if (head.size !== undefined && head.size !== size) return false;
    await repo.blobs.link(digest);
    this.ctx.cached(repo.name, digest, 'blob');
    this.ctx.logger.debug('blob linked from another cached repository', { repository: repo.name, digest: digest.toString() });
    return true;
  }
}
