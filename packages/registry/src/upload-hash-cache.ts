import { createHash, type Hash } from 'node:crypto';
import type { DigestAlgorithm } from './digest';

/**
 * How long an upload's hash state is kept while no request of the upload uses it. Clients send an
 * upload's chunks back to back; one that resumes later costs one extra read of its bytes at commit.
 */
export const DEFAULT_HASH_STATE_IDLE_MS = 60_000;

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
 * digest is recomputed from storage at commit. Bounded twice, and an evicted upload falls back to
 * re-hashing, never to an unverified commit: beyond `capacity` the least recently used state goes,
 * and a state its upload left alone for `maxIdleMs` goes at the next `set`, so the sessions clients
 * abandon (a cut PATCH, a failed push never retried) do not keep their states until `capacity` pushes
 * them out. A state is out of the cache while a chunk streams into it, so a long PATCH never ages.
 */
export class UploadHashCache {
  /** Least recently used first. */
  private readonly states = new Map<string, { readonly state: HashState; readonly touched: number }>();

  constructor(
    private readonly capacity = 10_000,
    private readonly maxIdleMs = DEFAULT_HASH_STATE_IDLE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh state at offset 0. */
  static fresh(algorithm: DigestAlgorithm): HashState {
    return { algorithm, offset: 0, hash: createHash(algorithm) };
  }

  /** The state of `id` if it covers exactly `offset` bytes; a stale state is dropped. */
  get(id: string, offset: number): HashState | undefined {
    const state = this.states.get(id)?.state;
    if (!state) return undefined;
    this.states.delete(id);
    if (state.offset !== offset) return undefined;
    this.states.set(id, { state, touched: this.now() });
    return state;
  }

  /** The hex digest of `id`'s first `size` bytes, when this cache's state covers exactly those (the state is kept). */
  digestAt(query: UploadDigestQuery): string | undefined {
    const state = this.states.get(query.id)?.state;
    if (!state || state.offset !== query.size || state.algorithm !== query.algorithm) return undefined;
    return state.hash.copy().digest('hex');
  }

  /** The algorithm a session's state uses, whatever its offset (to restart hashing at 0). */
  algorithmOf(id: string): DigestAlgorithm | undefined {
    return this.states.get(id)?.state.algorithm;
  }

  set(id: string, state: HashState): void {
    const now = this.now();
    this.states.delete(id);
    this.states.set(id, { state, touched: now });
    for (const [oldest, entry] of this.states) {
      if (this.states.size <= this.capacity && now - entry.touched < this.maxIdleMs) break;
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
