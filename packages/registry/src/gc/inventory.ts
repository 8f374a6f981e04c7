import type { StorageDriver } from '@berth/storage-driver';
import type { Digest } from '../digest';
import { pathFor } from '../paths';
import { isNotFound } from '../storage';
import { parseBlobDataPath, parseRepositoryPath } from './layout';

/** A link file found by the walk: what it names and when it was last written. */
export interface LinkEntry {
  readonly digest: Digest;
  readonly modTime: Date;
  /** The link file's driver path. */
  readonly path: string;
}

/** What one repository holds, as far as garbage collection cares. */
export interface RepositoryEntries {
  /** `_manifests/revisions`, by digest string. */
  readonly revisions: Map<string, LinkEntry>;
  /** `_layers`, by digest string. */
  readonly layers: Map<string, LinkEntry>;
  /** Tag name → driver path of its `current/link` (read only when untagged manifests are collected). */
  readonly tags: Map<string, string>;
  /** Driver paths of `tags/<tag>/index/<alg>/<hex>/link` (a tag's history), by digest string. */
  readonly tagIndex: Map<string, string[]>;
  /** Driver paths of `_manifests/referrers/<subject>/<alg>/<hex>/link`, by the referrer's digest string. */
  readonly referrerLinks: Map<string, string[]>;
}

/** Every repository's links, from one walk of `repositories/`. */
export type RepositoryInventory = Map<string, RepositoryEntries>;

/** A blob's data file as the walk of `blobs/` saw it. */
export interface BlobEntry {
  readonly digest: Digest;
  readonly size: number;
  readonly modTime: Date;
}

function entriesOf(inventory: RepositoryInventory, repository: string): RepositoryEntries {
  let entries = inventory.get(repository);
  if (!entries) {
    entries = { revisions: new Map(), layers: new Map(), tags: new Map(), tagIndex: new Map(), referrerLinks: new Map() };
    inventory.set(repository, entries);
  }
  return entries;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Walks `repositories/` once (on S3 one flat listing, not a list per directory) and sorts every
 * link it finds by repository. Upload sessions are skipped. An empty registry has no
 * `repositories/` and gives an empty inventory.
 */
export async function inventoryRepositories(driver: StorageDriver): Promise<RepositoryInventory> {
  const inventory: RepositoryInventory = new Map();
  try {
    await driver.walk(pathFor({ kind: 'repositories' }), (info) => {
      const parsed = parseRepositoryPath(info.path);
      if (!parsed) return undefined;
      if (parsed.kind === 'uploads') return info.isDir ? 'skipdir' : undefined;
      if (info.isDir) return undefined;
      const entries = entriesOf(inventory, parsed.repository);
      switch (parsed.kind) {
        case 'layerLink':
          entries.layers.set(parsed.digest.toString(), { digest: parsed.digest, modTime: info.modTime, path: info.path });
          break;
        case 'revisionLink':
          entries.revisions.set(parsed.digest.toString(), { digest: parsed.digest, modTime: info.modTime, path: info.path });
          break;
        case 'tagCurrentLink':
          entries.tags.set(parsed.tag, info.path);
          break;
        case 'tagIndexLink':
          push(entries.tagIndex, parsed.digest.toString(), info.path);
          break;
        case 'referrerLink':
          push(entries.referrerLinks, parsed.digest.toString(), info.path);
          break;
      }
      return undefined;
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return inventory;
}

/**
 * Walks `blobs/` once: every `blobs/<alg>/<xx>/<hex>/data` with its size and modification time
 * (on S3 they come with the listing, no HEAD per blob). Blobs under an algorithm Berth does not
 * support are not listed, so they are never collected.
 */
export async function inventoryBlobs(driver: StorageDriver): Promise<Map<string, BlobEntry>> {
  const blobs = new Map<string, BlobEntry>();
  try {
    await driver.walk(pathFor({ kind: 'blobs' }), (info) => {
      if (info.isDir) return undefined;
      const digest = parseBlobDataPath(info.path);
      if (digest) blobs.set(digest.toString(), { digest, size: info.size, modTime: info.modTime });
      return undefined;
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return blobs;
}
