import type { RepositoryContext } from './context';
import { mapLimit } from './concurrency';
import { Digest, SUPPORTED_ALGORITHMS } from './digest';
import { ManifestUnknownError } from './errors';
import { describeStoredManifest } from './manifest-parse';
import type { ManifestService } from './manifest-service';
import { INDEX_MEDIA_TYPES, MediaType } from './media-types';
import { isTag } from './names';
import { pathFor } from './paths';

/** One entry of a referrers response. */
export interface ReferrerDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The OCI image index a referrers query answers with. */
export interface ReferrersIndex {
  readonly schemaVersion: 2;
  readonly mediaType: typeof MediaType.OCI_INDEX;
  readonly manifests: ReferrerDescriptor[];
}

const READ_CONCURRENCY = 16;

/**
 * The fallback tag clients maintain on registries without the referrers API:
 * `<alg>-<encoded>`, the algorithm cut to 32 and the encoding to 64 characters (distribution-spec).
 */
export function fallbackTag(subject: Digest): string {
  return `${subject.algorithm.slice(0, 32)}-${subject.hex.slice(0, 64)}`;
}

/**
 * Referrers of a subject in one repository, from the index Berth maintains under
 * `_manifests/referrers/` plus the subject's fallback tag (see the layout notes in `paths.ts`).
 */
export class ReferrerService {
  constructor(
    private readonly ctx: RepositoryContext,
    private readonly manifests: ManifestService,
  ) {}

  /**
   * The manifests of this repository whose `subject` is `subject`, sorted by digest. With
   * `artifactTypes`, only those whose artifact type is one of them. An unknown subject or
   * repository gives an empty list, never an error.
   */
  async list(subject: Digest, options: { artifactTypes?: readonly string[] } = {}): Promise<ReferrerDescriptor[]> {
    const candidates = new Map<string, Digest>();
    for (const digest of [...(await this.indexed(subject)), ...(await this.fromFallbackTag(subject))]) {
      candidates.set(digest.toString(), digest);
    }
    const described = await mapLimit([...candidates.values()], READ_CONCURRENCY, (digest) => this.describe(subject, digest));
    const wanted = options.artifactTypes && options.artifactTypes.length > 0 ? new Set(options.artifactTypes) : undefined;
    return described
      .filter((d): d is ReferrerDescriptor => d !== undefined)
      .filter((d) => !wanted || (d.artifactType !== undefined && wanted.has(d.artifactType)))
      .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }

  /** `list` wrapped as the image index the API returns. */
  async index(subject: Digest, options: { artifactTypes?: readonly string[] } = {}): Promise<ReferrersIndex> {
    return { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: await this.list(subject, options) };
  }

  /** Digests recorded under `_manifests/referrers/<subject>/`. */
  private async indexed(subject: Digest): Promise<Digest[]> {
    const { storage, name } = this.ctx;
    const dir = pathFor({ kind: 'referrersOf', name, subject });
    const digests: Digest[] = [];
    for (const algorithm of SUPPORTED_ALGORITHMS) {
      for (const hex of (await storage.listNames(`${dir}/${algorithm}`)) ?? []) {
        const value = `${algorithm}:${hex}`;
        if (Digest.isValid(value)) digests.push(Digest.parse(value));
      }
    }
    return digests;
  }

  /** Digests listed by the subject's fallback-tag index, if a client maintained one. */
  private async fromFallbackTag(subject: Digest): Promise<Digest[]> {
    const tag = fallbackTag(subject);
    if (!isTag(tag)) return [];
    let content: Buffer;
    try {
      content = (await this.manifests.get({ tag })).content;
    } catch (error) {
      if (error instanceof ManifestUnknownError) return [];
      throw error;
    }
    try {
      const json = JSON.parse(content.toString('utf8')) as { manifests?: Array<{ digest?: unknown }> };
      return (json.manifests ?? []).map((m) => m.digest).filter(Digest.isValid).map((d) => Digest.parse(d));
    } catch {
      return [];
    }
  }

  /** The referrer descriptor of `digest`, or undefined when it is gone or refers to something else. */
  private async describe(subject: Digest, digest: Digest): Promise<ReferrerDescriptor | undefined> {
    if (!(await this.manifests.exists(digest))) return undefined;
    const content = await this.ctx.blobStore.getContent(digest);
    if (!content) return undefined;
    const info = describeStoredManifest(content);
    if (!info.subject?.equals(subject)) return undefined;
    const artifactType = info.artifactType ?? (INDEX_MEDIA_TYPES.has(info.mediaType) ? undefined : info.configMediaType);
    return {
      mediaType: info.mediaType,
      digest: digest.toString(),
      size: content.length,
      ...(artifactType !== undefined ? { artifactType } : {}),
      ...(info.annotations !== undefined ? { annotations: info.annotations } : {}),
    };
  }
}
