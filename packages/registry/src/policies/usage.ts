import type { Logger } from '@berth/storage-driver';
import { yieldIfDue } from '@berth/storage-driver';
import type { BlobStore } from '../blob-store';
import { listRepositories } from '../catalog';
import { mapLimit } from '../concurrency';
import { Digest } from '../digest';
import { pathFor } from '../paths';
import type { Storage } from '../storage';

/** The storage one repository uses (`GET /v2/_berth/usage`, docs/api.md). */
export interface RepositoryUsage {
  readonly name: string;
  /** Bytes of every blob the repository's manifests reference (and the manifests), each counted once. */
  readonly bytes: number;
  /** The part of `bytes` no other repository references. */
  readonly uniquebytes: number;
  readonly tags: number;
  readonly manifests: number;
}

export interface UsageReport {
  readonly repositories: readonly RepositoryUsage[];
  /** `bytes`: every referenced blob of the registry counted once (shared blobs are not counted twice). */
  readonly total: { readonly repositories: number; readonly bytes: number; readonly tags: number; readonly manifests: number };
  /** When the storage was last listed for every repository (ISO-8601). */
  readonly refreshedAt: string;
}

/** Default bound of how old a usage report may be (what other processes and replicas changed). */
export const DEFAULT_USAGE_MAX_AGE_MS = 30_000;

/** Manifests whose references are remembered (by digest: a manifest's content never changes). */
const SUMMARY_CACHE_ENTRIES = 200_000;
const SCAN_CONCURRENCY = 8;

/** One repository's state, and what the listing looked like when it was computed. */
export interface RepositoryFootprint {
  /** The sorted revision digests: when the listing still gives these, `blobs` is still right. */
  readonly signature: string;
  readonly tags: number;
  readonly manifests: number;
  /** Every referenced digest with its size (manifests included). */
  readonly blobs: ReadonlyMap<string, number>;
  readonly bytes: number;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `{digest, size}` descriptors of a stored manifest, read leniently (another registry may have written it). */
function sizedReferences(content: Buffer): Array<[string, number]> {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    return [];
  }
  if (!isObject(json)) return [];
  const out: Array<[string, number]> = [];
  const add = (d: unknown): void => {
    if (!isObject(d) || !Digest.isValid(d.digest) || typeof d.size !== 'number' || !(d.size >= 0)) return;
    // Non-distributable layers with URLs are not stored here.
    if (Array.isArray(d.urls) && d.urls.length > 0) return;
    out.push([d.digest as string, d.size]);
  };
  add(json.config);
  for (const list of [json.layers, json.blobs, json.manifests]) if (Array.isArray(list)) list.forEach(add);
  return out;
}

/**
 * Storage usage per repository, cached and kept correct without a walk per request:
 * - a repository's footprint is recomputed only when its `_manifests/revisions` listing changed (a
 *   manifest's references never change, so the same revisions mean the same blobs); manifest
 *   references are remembered by digest;
 * - writes through this process (manifest PUT/DELETE, tag changes) mark the repository, which the
 *   next report lists again before it answers;
 * - the first report lists every repository; a report asked for when the last listing started
 *   `maxAgeMs` ago or more answers from the cache and starts a new listing in the background, which
 *   catches what other processes, replicas and garbage collection (untagged manifests) changed;
 * - GC deletes only blobs no manifest references, which `bytes` never counted.
 * So a report never lags this process's writes, and lags another process's by at most `maxAgeMs`
 * plus the duration of one listing of every repository (see docs/api.md for measured durations).
 * `footprint` (quotas) always lists the repository now.
 */
export class UsageTracker {
  private readonly entries = new Map<string, RepositoryFootprint>();
  private readonly dirty = new Set<string>();
  private readonly summaries = new Map<string, Array<[string, number]>>();
  private refreshedAt = 0;
  private refreshing?: Promise<void>;
  /** Rescans of marked repositories in progress: a report waits for them (it may have cleared their mark). */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly storage: Storage,
    private readonly blobStore: BlobStore,
    private readonly logger: Logger,
    readonly maxAgeMs: number = DEFAULT_USAGE_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Marks `name` changed by this process: the next report lists it again. */
  invalidate(name: string): void {
    this.dirty.add(name);
  }

  /** The usage of every repository (see the class comment for how current it is). */
  async report(): Promise<UsageReport> {
    if (this.refreshedAt === 0) {
      // The first report waits for the listing of every repository.
      await this.refresh();
    } else if (this.now() - this.refreshedAt >= this.maxAgeMs) {
      // Later ones answer at once and list again in the background (one listing at a time).
      void this.refresh().catch((error: unknown) => this.logger.warn('usage refresh failed', { error: String(error) }));
    }
    if (this.dirty.size > 0) {
      const names = [...this.dirty];
      this.dirty.clear();
      const rescan = mapLimit(names, SCAN_CONCURRENCY, (name) => this.rescan(name)).then(() => undefined);
      this.pending.add(rescan);
      void rescan.finally(() => this.pending.delete(rescan)).catch(() => undefined);
    }
    await Promise.all(this.pending);
    return this.assemble();
  }

  /** The repository's footprint as storage lists it now (undefined: no such repository). */
  async footprint(name: string): Promise<RepositoryFootprint> {
    const footprint = await this.scan(name, this.entries.get(name));
    if (footprint) this.entries.set(name, footprint);
    return footprint ?? { signature: '', tags: 0, manifests: 0, blobs: new Map(), bytes: 0 };
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.refreshAll().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshAll(): Promise<void> {
    const started = this.now();
    this.dirty.clear();
    const names = await listRepositories(this.storage);
    const present = new Set(names);
    for (const name of [...this.entries.keys()]) if (!present.has(name)) this.entries.delete(name);
    await mapLimit(names, SCAN_CONCURRENCY, (name) => this.rescan(name));
    this.refreshedAt = started;
    this.logger.debug('usage refreshed', { repositories: names.length, ms: this.now() - started });
  }

  private async rescan(name: string): Promise<void> {
    const footprint = await this.scan(name, this.entries.get(name));
    if (footprint) this.entries.set(name, footprint);
    else this.entries.delete(name);
  }

  /** Lists the repository's revisions and tags; reuses `previous` when the revisions did not change. */
  private async scan(name: string, previous: RepositoryFootprint | undefined): Promise<RepositoryFootprint | undefined> {
    const [algorithms, tags] = await Promise.all([
      this.storage.listNames(`${pathFor({ kind: 'manifests', name })}/revisions`),
      this.storage.listNames(pathFor({ kind: 'tags', name })),
    ]);
    if (algorithms === undefined && tags === undefined && !(await this.storage.exists(pathFor({ kind: 'manifests', name })))) {
      return undefined;
    }
    const digests: string[] = [];
    for (const algorithm of algorithms ?? []) {
      const hexes = (await this.storage.listNames(pathFor({ kind: 'revisionsAlgorithm', name, algorithm }))) ?? [];
      for (const hex of hexes) if (Digest.isValid(`${algorithm}:${hex}`)) digests.push(`${algorithm}:${hex}`);
    }
    digests.sort();
    const signature = digests.join(',');
    const tagCount = tags?.length ?? 0;
    if (previous && previous.signature === signature) return { ...previous, tags: tagCount };
    const blobs = new Map<string, number>();
    const summaries = await mapLimit(digests, SCAN_CONCURRENCY, (digest) => this.summary(digest));
    for (const refs of summaries) {
      for (const [digest, size] of refs) blobs.set(digest, size);
      const turn = yieldIfDue();
      if (turn) await turn;
    }
    let bytes = 0;
    for (const size of blobs.values()) bytes += size;
    return { signature, tags: tagCount, manifests: digests.length, blobs, bytes };
  }

  /** The manifest itself and what it references, with sizes; [] when its content is gone. */
  private async summary(digest: string): Promise<Array<[string, number]>> {
    const known = this.summaries.get(digest);
    if (known) return known;
    const content = await this.blobStore.getContent(Digest.parse(digest));
    if (content === undefined) return [];
    const refs: Array<[string, number]> = [[digest, content.length], ...sizedReferences(content)];
    if (this.summaries.size >= SUMMARY_CACHE_ENTRIES) {
      const oldest = this.summaries.keys().next().value;
      if (oldest !== undefined) this.summaries.delete(oldest);
    }
    this.summaries.set(digest, refs);
    return refs;
  }

  private async assemble(): Promise<UsageReport> {
    const owners = new Map<string, number>();
    const sizes = new Map<string, number>();
    for (const footprint of this.entries.values()) {
      for (const [digest, size] of footprint.blobs) {
        owners.set(digest, (owners.get(digest) ?? 0) + 1);
        sizes.set(digest, size);
      }
      const turn = yieldIfDue();
      if (turn) await turn;
    }
    const repositories: RepositoryUsage[] = [];
    let tags = 0;
    let manifests = 0;
    for (const name of [...this.entries.keys()].sort()) {
      const footprint = this.entries.get(name) as RepositoryFootprint;
      let uniquebytes = 0;
      for (const [digest, size] of footprint.blobs) if (owners.get(digest) === 1) uniquebytes += size;
      repositories.push({ name, bytes: footprint.bytes, uniquebytes, tags: footprint.tags, manifests: footprint.manifests });
      tags += footprint.tags;
      manifests += footprint.manifests;
      const turn = yieldIfDue();
      if (turn) await turn;
    }
    let bytes = 0;
    for (const size of sizes.values()) bytes += size;
    return {
      repositories,
      total: { repositories: repositories.length, bytes, tags, manifests },
      refreshedAt: new Date(this.refreshedAt).toISOString(),
    };
  }
}
