import type { Readable } from 'node:stream';
import type { BlobDescriptor } from './blob-store';
import type { Digest } from './digest';
import type { ManifestReference, StoredManifest } from './manifest-service';

/**
 * A blob on its way from the upstream: its bytes reach the caller while the cache stores them.
 *
 * `body` ends normally only after the bytes matched the digest and were committed to storage. When
 * they do not match, or the upstream or the storage fails, `body` errors BEFORE it delivers its last
 * chunk, so a reader never receives a complete body that was not verified; nothing is stored then.
 * Destroying `body` (the client went away) aborts the upstream read and stores nothing either.
 */
export interface PassingBlob {
  /** The blob's size when the upstream announced it (it is then checked too). */
  readonly size?: number;
  readonly body: Readable;
}

/**
 * What a pull-through cache (a mirror of another registry) adds to the read path. The API asks it
 * instead of the repository services when it is configured; `@berth/proxy` implements it over the
 * same storage, so what it caches is an ordinary registry tree (blob data, `_layers` links,
 * manifest revisions, tags) that the normal read path serves afterwards.
 *
 * Names are validated repository names, passed to the upstream unchanged (`library/alpine`).
 * Every method throws the registry's domain errors: `ManifestUnknownError` / `BlobUnknownError`
 * when neither the cache nor the upstream has the content, `UnavailableError` when the upstream
 * cannot be asked and the cache cannot answer.
 */
export interface PullThroughCache {
  /**
   * A manifest. By tag: the upstream is asked for the tag's current digest; when it cannot answer
   * (unreachable, 5xx, 429) the cached tag is served. By digest: the cached manifest, else fetched.
   * What is fetched is verified against its digest and stored (with the tag) before it is returned.
   */
  getManifest(name: string, reference: ManifestReference): Promise<StoredManifest>;

  /** The size of a blob that is NOT cached in `name`, asked from the upstream (nothing is stored). */
  statBlob(name: string, digest: Digest): Promise<BlobDescriptor>;

  /**
   * Brings a blob that is not cached in `name` into the cache. `mode: 'stream'` returns the blob
   * as it is fetched (see `PassingBlob`) when this call leads the fetch; `'store'` waits until it is
   * stored. Resolves undefined when the blob is stored and linked (the caller serves it from
   * storage): always for `'store'`, and for `'stream'` when another request had already started the
   * same fetch (concurrent requests for one blob of one repository make one upstream request).
   */
  fetchBlob(name: string, digest: Digest, mode: 'stream' | 'store'): Promise<PassingBlob | undefined>;
}
