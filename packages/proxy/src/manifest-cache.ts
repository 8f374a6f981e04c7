import {
  describeStoredManifest,
  Digest,
  ManifestUnknownError,
  UnavailableError,
  type ManifestReference,
  type Registry,
  type Repository,
  type StoredManifest,
} from '@berth/registry';
import type { Logger } from '@berth/logging';
import type { CachedKind } from './expiry-scheduler';
import { Flights } from './single-flight';
import type { UpstreamClient } from './upstream-client';

export interface ManifestCacheContext {
  readonly registry: Registry;
  readonly upstream: UpstreamClient;
  readonly logger: Logger;
  readonly maxManifestBytes: number;
  readonly cached: (name: string, digest: Digest, kind: CachedKind) => void;
}

/**
 * Manifests of a pull-through cache. A manifest by digest is immutable: once cached it is served
 * without asking the upstream. A tag is revalidated on every request with a HEAD to the upstream
 * (Docker Hub does not count HEADs against its pull limit): the manifest it names is fetched when it
 * is not cached yet, and the local tag is moved to it. When the upstream cannot answer (unreachable,
 * 5xx, 429) the cached tag is served; when it answers that the tag does not exist (404, or 401/403
 * for a repository it will not show), so does the cache.
 */
export class ManifestCache {
  private readonly flights = new Flights();

  constructor(private readonly ctx: ManifestCacheContext) {}

  async get(name: string, reference: ManifestReference): Promise<StoredManifest> {
    const repo = this.ctx.registry.cacheRepository(name);
    if (reference.digest) return this.byDigest(repo, reference.digest);
    try {
      return await this.byTag(repo, reference.tag);
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      return this.cachedTag(repo, reference.tag, error);
    }
  }

  private async byDigest(repo: Repository, digest: Digest): Promise<StoredManifest> {
    const cached = await this.local(repo, digest);
    if (cached) return cached;
    return this.fetchOnce(repo, digest.toString(), () => this.fetch(repo, digest));
  }

  private async byTag(repo: Repository, tag: string): Promise<StoredManifest> {
    const head = await this.ctx.upstream.headManifest(repo.name, tag);
    if (!head) throw new ManifestUnknownError(tag);
    if (head.digest) {
      const cached = await this.local(repo, head.digest);
      if (cached) {
        await this.pointTag(repo, tag, head.digest);
        return cached;
      }
    }
    const digest = head.digest;
    const manifest = await this.fetchOnce(repo, digest ? digest.toString() : `tag:${tag}`, () => this.fetch(repo, digest, tag));
    // The fetch that stored it may have run for another tag naming the same digest.
    await this.pointTag(repo, tag, manifest.digest);
    return manifest;
  }

  private async cachedTag(repo: Repository, tag: string, cause: UnavailableError): Promise<StoredManifest> {
    let manifest: StoredManifest;
    try {
      manifest = await repo.manifests.get({ tag });
    } catch (error) {
      if (error instanceof ManifestUnknownError) throw cause;
      throw error;
    }
    this.ctx.logger.warn('the upstream cannot answer: serving the cached tag', {
      repository: repo.name,
      tag,
      digest: manifest.digest.toString(),
      reason: cause.message,
    });
    return manifest;
  }

  /** One fetch per repository and digest (or tag) at a time; later callers read what it stored. */
  private async fetchOnce(repo: Repository, what: string, fetch: () => Promise<StoredManifest>): Promise<StoredManifest> {
    const key = `${repo.name}@${what}`;
    for (;;) {
      if (await this.flights.idle(key)) {
        const digest = what.startsWith('tag:') ? undefined : Digest.parse(what);
        const cached = digest ? await this.local(repo, digest) : undefined;
        if (cached) return cached;
      }
      const release = this.flights.claim(key);
      if (!release) continue;
      try {
        return await fetch();
      } finally {
        release();
      }
    }
  }

  /**
   * GETs the manifest (by digest when known, else by tag), checks its digest against the reference
   * and the upstream's `Docker-Content-Digest`, and stores it (tagged with `tag`). A mismatch is
   * `UnavailableError`: the upstream is not serving what it names.
   */
  private async fetch(repo: Repository, digest: Digest | undefined, tag?: string): Promise<StoredManifest> {
    const reference = digest?.toString() ?? tag!;
    const fetched = await this.ctx.upstream.getManifest(repo.name, reference, this.ctx.maxManifestBytes);
    if (!fetched) throw new ManifestUnknownError(reference);
    const algorithm = digest?.algorithm ?? fetched.digest?.algorithm ?? 'sha256';
    const actual = Digest.fromBytes(fetched.content, algorithm);
    for (const expected of [digest, fetched.digest]) {
      if (expected && !Digest.fromBytes(fetched.content, expected.algorithm).equals(expected)) {
        throw new UnavailableError(`the upstream served manifest ${repo.name}:${reference} with content that does not match ${expected}`);
      }
    }
    await repo.manifests.put({ digest: actual }, fetched.content, {
      contentType: fetched.contentType,
      extraTags: tag !== undefined ? [tag] : [],
      verifyReferences: false,
    });
    this.ctx.cached(repo.name, actual, 'manifest');
    this.ctx.logger.debug('manifest cached from the upstream', { repository: repo.name, digest: actual.toString(), tag });
    return { digest: actual, mediaType: describeStoredManifest(fetched.content).mediaType, content: fetched.content };
  }

  private async local(repo: Repository, digest: Digest): Promise<StoredManifest | undefined> {
    try {
      return await repo.manifests.get({ digest });
    } catch (error) {
      if (error instanceof ManifestUnknownError) return undefined;
      throw error;
    }
  }

  private async pointTag(repo: Repository, tag: string, digest: Digest): Promise<void> {
    let current: Digest | undefined;
    try {
      current = await repo.tags.resolve(tag);
    } catch (error) {
      if (!(error instanceof ManifestUnknownError)) throw error;
    }
    if (!current?.equals(digest)) await repo.tags.tag(tag, digest);
  }
}
