import type { Logger } from '@berth/storage-driver';
import type { BlobStore } from './blob-store';
import type { KeyedLock } from './concurrency';
import type { Policies } from './policies/rules';
import type { UsageTracker } from './policies/usage';
import type { Storage } from './storage';
import type { UploadHashCache, UploadHashPeers } from './upload-hash-cache';
import type { WritePolicy } from './write-policy';

/** Process-wide settings and state every repository service shares (one per `Registry`). */
export interface RegistryContext {
  readonly storage: Storage;
  /** The global blob store (`blobs/<alg>/…/data`); a repository's view of it is its `BlobService`. */
  readonly blobStore: BlobStore;
  readonly logger: Logger;
  /** Which writes the services accept (`assertWritable`). */
  readonly writes: WritePolicy;
  readonly maxManifestBytes: number;
  readonly catalogMaxEntries: number;
  /** `tags.maxtags`: the largest page of a tag list. */
  readonly maxTags: number;
  /** `storage.tag.concurrencylimit`: tag links read at once by a lookup by digest. */
  readonly tagConcurrencyLimit: number;
  /** Per-process streaming hash states of upload sessions. */
  readonly hashCache: UploadHashCache;
  /** Other processes' hash states, asked before an upload is hashed again from storage. */
  readonly hashPeers?: UploadHashPeers;
  /** Lock per upload session: per process, or across the host's processes when given one (`RegistryOptions.uploadLocks`). */
  readonly uploadLocks: KeyedLock;
  /** The `policies` rules clients' writes must follow (none for the pull-through cache filling itself). */
  readonly policies: Policies;
  /** Storage usage per repository; services mark the repositories they change. */
  readonly usage: UsageTracker;
}

/** The context of one repository's services. */
export interface RepositoryContext extends RegistryContext {
  /** The validated repository name. */
  readonly name: string;
}

/** A logger that drops everything (the default when none is given). */
export const noopLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => noopLogger,
};
