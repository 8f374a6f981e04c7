import { UnavailableError } from './errors';

/**
 * Metadata shared by every process and replica serving the same storage (`storage.cache.
 * blobdescriptor: redis`; the implementation lives in @berth/redis). Entries belong to a scope: a
 * repository's name, or `GLOBAL_SCOPE` for what is addressed by digest alone. The contract that
 * keeps readers from ever seeing a state older than an acknowledged write:
 *
 * - a reader calls `lookup` BEFORE it reads storage, and gives the `version` it got to `fill`;
 * - `invalidate(scope)` moves the scope to a new version: what was filled under an older one is
 *   never returned again, including fills that arrive after the invalidation (a reader that read
 *   storage before the write);
 * - a write invalidates its scope after changing storage and before it answers; when that fails
 *   the write is not acknowledged (`UnavailableError`).
 *
 * `lookup` resolves undefined when the cache cannot be used now (down, slow, not yet safe after a
 * reconnection): the caller reads storage and does not fill. `fill` never rejects.
 */
export interface SharedMetadataCache {
  lookup(scope: string, fields: readonly string[]): Promise<SharedLookup | undefined>;
  fill(scope: string, version: string, entries: ReadonlyMap<string, string | Buffer>): Promise<void>;
  /** Rejects when the scope could not be moved to a new version. */
  invalidate(scope: string): Promise<void>;
  /** Every scope at once (garbage collection, retention sweeps); rejects when it could not. */
  invalidateAll(): Promise<void>;
}

export interface SharedLookup {
  readonly version: string;
  /** One per field asked for, in order; undefined where nothing is cached. */
  readonly values: readonly (Buffer | undefined)[];
}

/** The scope of entries addressed by digest alone (blob sizes, manifest contents). */
export const GLOBAL_SCOPE = '';

/** Field names of the entries (documented in docs/redis.md). */
export const CacheField = {
  /** tag → digest the tag points at (only tags that exist). */
  tag: (tag: string): string => `t/${tag}`,
  /** `1` when the manifest revision is linked in the repository (only when it is). */
  revision: (digest: string): string => `r/${digest}`,
  /** `1` when the blob is linked in the repository (only when it is). */
  layer: (digest: string): string => `l/${digest}`,
  /** The sorted tag list, JSON (only for a repository that exists). */
  tags: 'tags',
  /** GLOBAL_SCOPE: a stored blob's size. */
  blobSize: (digest: string): string => `b/${digest}`,
  /** GLOBAL_SCOPE: a small manifest's bytes. */
  content: (digest: string): string => `c/${digest}`,
} as const;

/** Manifests up to this size are shared by content; larger ones only in the per-process cache. */
export const SHARED_CONTENT_MAX_BYTES = 64 * 1024;

/**
 * Reads one entry through the shared cache: the cached value, else `load` from storage, filled
 * under the version read before `load` ran. `encode` turns a loaded value into the entry (undefined:
 * not cached, e.g. a negative answer). Without a shared cache, or when it fails, just `load`.
 */
export async function readThrough<T>(
  shared: SharedMetadataCache | undefined,
  scope: string,
  field: string,
  decode: (cached: Buffer) => T,
  load: () => Promise<T>,
  encode: (value: T) => string | Buffer | undefined,
): Promise<T> {
  if (!shared) return load();
  let found: SharedLookup | undefined;
  try {
    found = await shared.lookup(scope, [field]);
  } catch {
    found = undefined;
  }
  const cached = found?.values[0];
  if (cached !== undefined) return decode(cached);
  const value = await load();
  if (found) {
    const entry = encode(value);
    if (entry !== undefined) await shared.fill(scope, found.version, new Map([[field, entry]]));
  }
  return value;
}

/**
 * Runs a write that changes what `scope` caches: the scope is invalidated before (so that a shared
 * cache that cannot be reached refuses the write before storage changes) and after the change, and
 * only then does the write resolve. `UnavailableError` (503) when an invalidation fails.
 */
export async function invalidating<T>(shared: SharedMetadataCache | undefined, scope: string | undefined, write: () => Promise<T>): Promise<T> {
  if (!shared) return write();
  const invalidate = async (): Promise<void> => {
    try {
      if (scope === undefined) await shared.invalidateAll();
      else await shared.invalidate(scope);
    } catch (error) {
      throw new UnavailableError(
        `the shared cache (redis) could not be updated: ${error instanceof Error ? error.message : String(error)}; retry once it is reachable`,
      );
    }
  };
  await invalidate();
  let result: T;
  try {
    result = await write();
  } catch (error) {
    // A write that failed half-way may still have changed storage.
    await invalidate().catch(() => undefined);
    throw error;
  }
  await invalidate();
  return result;
}
