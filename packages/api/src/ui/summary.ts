import type { Readable } from 'node:stream';
import { Digest, describeStoredManifest, mapLimit, parseManifest, type ParsedManifest, type Repository } from '@berth/registry';

/** One platform of an image or of a multi-arch index's child. */
export interface PlatformSummary {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  /** The child manifest of an index; absent for a single image. */
  readonly digest?: string;
}

/** What the UI's lists show of a manifest. */
export interface ManifestSummary {
  readonly mediaType: string;
  readonly artifactType?: string;
  /**
   * Bytes a pull downloads: an image's manifest, config and layers; an index's own bytes plus
   * each child's (as stored, compressed).
   */
  readonly size: number;
  readonly isIndex: boolean;
  readonly platforms: readonly PlatformSummary[];
  /** The digest of the manifest this one refers to (a signature, an SBOM). */
  readonly subject?: string;
}

/** Configs larger than this are not read to find an image's platform or shown (1 MiB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** The bytes of a small blob (an image config), or undefined when it is larger than `limit`. */
export async function readSmallBlob(repo: Repository, digest: Digest, limit = MAX_CONFIG_BYTES): Promise<Buffer | undefined> {
  const stat = await repo.blobs.stat(digest);
  if (stat.size > limit) return undefined;
  const stream: Readable = await repo.blobs.open(digest);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The `os`/`architecture`/`variant` of an image config, when it names them. */
export function platformOfConfig(config: unknown): PlatformSummary | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const { os, architecture, variant } = config as Record<string, unknown>;
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  return { os, architecture, ...(typeof variant === 'string' ? { variant } : {}) };
}

function platformOfDescriptor(platform: unknown, digest: string): PlatformSummary | undefined {
  const known = platformOfConfig(platform);
  return known ? { ...known, digest } : undefined;
}

const DEFAULT_CACHE_ENTRIES = 10_000;
/** Manifests read at once when summarising many (a tag list, an index's children). */
export const SUMMARY_CONCURRENCY = 16;

/**
 * Manifest summaries by digest, computed from the stored manifest (and an image's config) and kept
 * for the life of the process, least recently used out: a digest names immutable content, so a
 * summary never goes stale, whichever process or replica pushed or deleted since (a deleted
 * manifest is simply no longer listed).
 */
export class ManifestSummaries {
  private readonly cache = new Map<string, Promise<ManifestSummary | undefined>>();

  constructor(private readonly maxEntries = DEFAULT_CACHE_ENTRIES) {}

  /** The summary of `digest` in `repo`; undefined when the manifest is not there (any more). */
  get(repo: Repository, digest: Digest): Promise<ManifestSummary | undefined> {
    const key = digest.toString();
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const computed = this.compute(repo, digest);
    this.cache.set(key, computed);
    // A miss is not remembered: the manifest may be pushed next.
    computed.then(
      (summary) => summary === undefined && this.cache.get(key) === computed && this.cache.delete(key),
      () => this.cache.get(key) === computed && this.cache.delete(key),
    );
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    return computed;
  }

  private async compute(repo: Repository, digest: Digest): Promise<ManifestSummary | undefined> {
    const stored = await repo.manifests.get({ digest }).catch(() => undefined);
    if (!stored) return undefined;
    const info = describeStoredManifest(stored.content);
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(stored.content, stored.mediaType);
    } catch {
      return { mediaType: info.mediaType, size: stored.content.length, isIndex: false, platforms: [] };
    }
    const subject = parsed.subject?.digest.toString();
    const artifactType = parsed.artifactType ?? (info.configMediaType && !info.configMediaType.includes('image.config') ? info.configMediaType : undefined);
    if (parsed.isIndex) {
      const raw = JSON.parse(stored.content.toString('utf8')) as { manifests?: { platform?: unknown }[] };
      const platforms = parsed.manifests
        .map((child, i) => platformOfDescriptor(raw.manifests?.[i]?.platform, child.digest.toString()))
        .filter((platform): platform is PlatformSummary => platform !== undefined);
      const sizes = await mapLimit(parsed.manifests, SUMMARY_CONCURRENCY, async (child) => (await this.get(repo, child.digest))?.size ?? child.size);
      const size = sizes.reduce((sum, childSize) => sum + childSize, stored.content.length);
      return { mediaType: parsed.mediaType, artifactType, size, isIndex: true, platforms, subject };
    }
    const size = stored.content.length + (parsed.config?.size ?? 0) + parsed.layers.reduce((sum, layer) => sum + layer.size, 0);
    let platform: PlatformSummary | undefined;
    if (parsed.config && artifactType === undefined) {
      const config = await readSmallBlob(repo, parsed.config.digest).catch(() => undefined);
      try {
        platform = config ? platformOfConfig(JSON.parse(config.toString('utf8'))) : undefined;
      } catch {
        platform = undefined;
      }
    }
    return { mediaType: parsed.mediaType, artifactType, size, isIndex: false, platforms: platform ? [platform] : [], subject };
  }
}

/** `Digest.parse` for a string from storage; undefined when malformed. */
export function digestOrUndefined(text: string): Digest | undefined {
  return Digest.isValid(text) ? Digest.parse(text) : undefined;
}
