import { Digest } from '../digest';
import { pathFor } from '../paths';
import type { Storage } from '../storage';

/** What a stored manifest needs kept, read leniently (it may have been written by another registry). */
export interface ManifestRefs {
  /** Config, layers (`layers`, an artifact manifest's `blobs`, schema 1 `fsLayers[].blobSum`). */
  readonly blobs: readonly Digest[];
  /** Children of an image index or manifest list (`manifests`). */
  readonly children: readonly Digest[];
  /** The manifest this one refers to (`subject`): not kept because of it, but it makes this one a referrer. */
  readonly subject?: Digest;
  /** False when the content is not a JSON object: nothing can be known about its references. */
  readonly parsed: boolean;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function digestOf(value: unknown, key = 'digest'): Digest | undefined {
  if (!isObject(value)) return undefined;
  const text = value[key];
  return Digest.isValid(text) ? Digest.parse(text) : undefined;
}

function digestsOf(list: unknown, key = 'digest'): Digest[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => digestOf(item, key)).filter((d): d is Digest => d !== undefined);
}

/**
 * The references of manifest bytes of any kind Berth or distribution may have stored: OCI and
 * Docker image manifests, indexes and manifest lists, OCI artifact manifests and Docker schema 1.
 * Never throws; a descriptor whose digest is malformed or of an unsupported algorithm is skipped
 * (no blob of that name can be collected either: the blob walk skips such paths).
 */
export function manifestReferences(content: Buffer): ManifestRefs {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    return { blobs: [], children: [], parsed: false };
  }
  if (!isObject(json)) return { blobs: [], children: [], parsed: false };
  const config = digestOf(json.config);
  const blobs = [
    ...(config ? [config] : []),
    ...digestsOf(json.layers),
    ...digestsOf(json.blobs),
    ...digestsOf(json.fsLayers, 'blobSum'),
  ];
  return { blobs, children: digestsOf(json.manifests), subject: digestOf(json.subject), parsed: true };
}

/** Blobs larger than this are never read as manifests (a manifest is at most a few MiB). */
export const MAX_MANIFEST_READ_BYTES = 16 * 1024 * 1024;

const NOT_A_MANIFEST: ManifestRefs = { blobs: [], children: [], parsed: false };

/**
 * Reads each manifest once per run: manifests are content-addressed, so a digest's references never
 * change and the same digest in many repositories costs one read. `undefined` means the data is not
 * stored (not cached: a later call reads again). Content larger than `MAX_MANIFEST_READ_BYTES`
 * (known from the blob walk, else from a stat) is not read and has no references. A blob this run
 * set aside is read from the quarantine (`fallbackPath`). Driver errors reject: the run must not
 * sweep on a partial view.
 */
export class ManifestReader {
  private readonly cache = new Map<string, Promise<ManifestRefs | undefined>>();
  private reads = 0;

  constructor(
    private readonly storage: Storage,
    private readonly options: {
      /** The blob's size when the caller knows it (the blob walk). */
      readonly sizeHint?: (digest: Digest) => number | undefined;
      /** Where else the data may be: the run's quarantine. */
      readonly fallbackPath?: (digest: Digest) => string;
    } = {},
  ) {}

  /** How many manifests were read from storage (cache misses). */
  get readCount(): number {
    return this.reads;
  }

  get(digest: Digest): Promise<ManifestRefs | undefined> {
    const key = digest.toString();
    let pending = this.cache.get(key);
    if (!pending) {
      pending = this.read(digest).then(
        (refs) => {
          if (refs === undefined) this.cache.delete(key);
          return refs;
        },
        (error: unknown) => {
          this.cache.delete(key);
          throw error;
        },
      );
      this.cache.set(key, pending);
    }
    return pending;
  }

  private async read(digest: Digest): Promise<ManifestRefs | undefined> {
    const refs = await this.readAt(pathFor({ kind: 'blobData', digest }), this.options.sizeHint?.(digest));
    if (refs !== undefined || !this.options.fallbackPath) return refs;
    return this.readAt(this.options.fallbackPath(digest), undefined);
  }

  private async readAt(path: string, knownSize: number | undefined): Promise<ManifestRefs | undefined> {
    let size = knownSize;
    if (size === undefined) {
      const info = await this.storage.stat(path);
      if (!info || info.isDir) return undefined;
      size = info.size;
    }
    if (size > MAX_MANIFEST_READ_BYTES) return NOT_A_MANIFEST;
    this.reads++;
    const content = await this.storage.getContent(path);
    return content === undefined ? undefined : manifestReferences(content);
  }
}
