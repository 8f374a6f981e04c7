import { UnsupportedError } from './errors';

/**
 * Which writes the registry accepts from its clients: THE place the configured write
 * restrictions are enforced. Every write of the repository services asks `assertWritable` before
 * it touches storage, so any caller (the HTTP API, a tool) meets the same refusal, an
 * `UnsupportedError` (405 UNSUPPORTED over HTTP).
 */
export interface WritePolicy {
  /** `storage.delete.enabled`: without it, deleting blobs, manifests and tags is refused. */
  readonly deleteEnabled: boolean;
  /** `storage.maintenance.readonly.enabled`: every push and delete is refused. */
  readonly readOnly: boolean;
  /** `proxy.remoteurl`: a pull-through cache takes no pushes or deletes from clients. */
  readonly pullThrough: boolean;
}

/** A push (uploads, manifests, tags, mounts) or a delete. */
export type WriteKind = 'push' | 'delete';

/**
 * The policy of the pull-through cache filling itself: it stores what it fetched and its expiry
 * removes it, whatever the clients may do (`Registry.cacheRepository`).
 */
export const CACHE_WRITES: WritePolicy = { deleteEnabled: true, readOnly: false, pullThrough: false };

/** Throws `UnsupportedError` saying which setting refuses a write of `kind`. */
export function assertWritable(policy: WritePolicy, kind: WriteKind): void {
  if (policy.pullThrough) {
    throw new UnsupportedError('the registry is a pull-through cache (proxy.remoteurl): pushes and deletes are not supported');
  }
  if (policy.readOnly) throw new UnsupportedError('the registry is in read-only mode (storage.maintenance.readonly)');
  if (kind === 'delete' && !policy.deleteEnabled) throw new UnsupportedError('deletion is disabled (storage.delete.enabled=false)');
}
