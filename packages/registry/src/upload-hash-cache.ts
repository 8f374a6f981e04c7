import { createHash, type Hash } from 'node:crypto';
import type { DigestAlgorithm } from './digest';

/** The running hash of an upload session's first `offset` bytes. */
export interface HashState {
  readonly algorithm: DigestAlgorithm;
  /** Bytes hashed so far; valid only while it equals the session's stored size. */
  offset: number;
  readonly hash: Hash;
}

/** Which upload's digest, over how many bytes. */
export interface UploadDigestQuery {
  readonly id: string;
  readonly algorithm: DigestAlgorithm;
  readonly size: number;
}

/**
 * Other processes serving the same storage (`berth serve` with several workers), asked for an
 * upload's digest when this process did not hash its bytes itself: a client that sends the data in a
 * PATCH and the final PUT on another connection may reach two processes. A peer answers only from a
 * state covering exactly `size` bytes (`UploadHashCache.digestAt`), the same rule a local state
 * obeys; undefined means nobody has one and the upload is hashed again from storage.
 */
export interface UploadHashPeers {
  digestOf(query: UploadDigestQuery): Promise<string | undefined>;
}

/**
 * Per-process cache of in-flight upload hashes, keyed by upload id. A state is only trusted when
 * its `offset` equals the size storage reports for the session; otherwise (the session moved to
 * another process, a write failed half-way, the process restarted) the caller drops it and the
 * digest is recomputed from storage at commit. Bounded: the least recently used state is evicted
 * beyond `capacity` (its upload then falls back to re-hashing, never to an unverified commit).
 */
export class UploadHashCache {
  private readonly states = new Map<string, HashState>();

  constructor(private readonly capacity = 10_000) {}

  /** A fresh state at offset 0. */
  static fresh(algorithm: DigestAlgorithm): HashState {
    return { algorithm, offset: 0, hash: createHash(algorithm) };
  }

  /** The state of `id` if it covers exactly `offset` bytes; a stale state is dropped. */
  get(id: string, offset: number): HashState | undefined {
    const state = this.states.get(id);
    if (!state) return undefined;
    if (state.offset !== offset) {
      this.states.delete(id);
      return undefined;
    }
    this.states.delete(id);
    this.states.set(id, state);
    return state;
  }

  /** The hex digest of `id`'s first `size` bytes, when this cache's state covers exactly those (the state is kept). */
  digestAt(query: UploadDigestQuery): string | undefined {
    const state = this.states.get(query.id);
    if (!state || state.offset !== query.size || state.algorithm !== query.algorithm) return undefined;
    return state.hash.copy().digest('hex');
  }

  /** The algorithm a session's state uses, whatever its offset (to restart hashing at 0). */
  algorithmOf(id: string): DigestAlgorithm | undefined {
    return this.states.get(id)?.algorithm;
  }

  set(id: string, state: HashState): void {
    this.states.delete(id);
    this.states.set(id, state);
    while (this.states.size > this.capacity) {
      const oldest = this.states.keys().next().value as string;
      this.states.delete(oldest);
    }
  }

  delete(id: string): void {
    this.states.delete(id);
  }

  get size(): number {
    return this.states.size;
  }
}
