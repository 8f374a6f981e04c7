import { yieldIfDue } from '@berth/storage-driver';
import { mapLimit } from '../concurrency';
import type { Digest } from '../digest';
import type { Storage } from '../storage';
import type { RepositoryEntries, RepositoryInventory } from './inventory';
import type { ManifestReader } from './manifest-refs';

/** A manifest revision of one repository. */
export interface RevisionRef {
  readonly repository: string;
  readonly digest: Digest;
}

export interface MarkOptions {
  readonly reader: ManifestReader;
  /** Reads tags' `current/link` (only used with `deleteUntagged`). */
  readonly storage: Storage;
  /** Collect untagged manifests (those no kept manifest needs). */
  readonly deleteUntagged: boolean;
  /** Revisions whose link was written after this instant (ms) are always kept. */
  readonly cutoffMs: number;
  readonly concurrency: number;
}

export interface MarkResult {
  /** Digests of every blob a kept manifest needs, the manifests themselves included. */
  readonly marked: Set<string>;
  /** Revisions kept, over all repositories. */
  readonly keptRevisions: number;
  /** Untagged revisions nothing kept needs (only with `deleteUntagged`). */
  readonly unneededRevisions: readonly RevisionRef[];
  /** Kept revisions whose manifest data is not stored: their references cannot be known. */
  readonly missingManifests: readonly RevisionRef[];
  /** Kept revisions whose content is not JSON. */
  readonly unreadableManifests: readonly RevisionRef[];
}

/**
 * Adds to `into` every digest reachable from `roots`: each manifest, its config and layers, and its
 * index children, recursively (children need not be revisions of any repository). Each manifest is
 * read at most once (the reader caches), cycles end. Resolves with the manifests among `roots` whose
 * data is missing or unreadable. Manifests read before are answered from memory, so the loop lets
 * timers and I/O in every few milliseconds (`yieldIfDue`): a serving process keeps answering.
 */
export async function markClosure(
  roots: readonly Digest[],
  reader: ManifestReader,
  into: Set<string>,
): Promise<{ missing: Digest[]; unreadable: Digest[] }> {
  const missing: Digest[] = [];
  const unreadable: Digest[] = [];
  const visited = new Set<string>();
  const queue = roots.map((digest) => ({ digest, root: true }));
  while (queue.length > 0) {
    const turn = yieldIfDue();
    if (turn) await turn;
    const { digest, root } = queue.pop() as { digest: Digest; root: boolean };
    const key = digest.toString();
    if (visited.has(key)) continue;
    visited.add(key);
    into.add(key);
    const refs = await reader.get(digest);
    if (!refs) {
      if (root) missing.push(digest);
      continue;
    }
    if (!refs.parsed && root) unreadable.push(digest);
    for (const blob of refs.blobs) into.add(blob.toString());
    for (const child of refs.children) queue.push({ digest: child, root: false });
  }
  return { missing, unreadable };
}

/**
 * The revisions of one repository that `--delete-untagged` keeps: those a tag points at, those
 * written within the grace period, and, transitively, the index children of kept manifests that
 * are revisions here (so untagged platform manifests of a tagged multi-arch index stay: the bug of
 * distribution #3178/#3004) and the referrers of kept manifests (revisions whose `subject` is kept).
 */
async function keptRevisionsOf(entries: RepositoryEntries, tagTargets: Map<string, Digest | undefined>, options: MarkOptions): Promise<Set<string>> {
  const { reader, cutoffMs } = options;
  const tagged = [...entries.tags.values()].map((path) => tagTargets.get(path));
  const kept = new Set<string>();
  const queue: string[] = [];
  const keep = (key: string): void => {
    if (!entries.revisions.has(key) || kept.has(key)) return;
    kept.add(key);
    queue.push(key);
  };
  for (const digest of tagged) if (digest) keep(digest.toString());
  for (const [key, link] of entries.revisions) if (link.modTime.getTime() > cutoffMs) keep(key);

  const referrersOf = new Map<string, string[]>();
  for (const [key, link] of entries.revisions) {
    const turn = yieldIfDue();
    if (turn) await turn;
    const subject = (await reader.get(link.digest))?.subject?.toString();
    if (subject !== undefined) referrersOf.set(subject, [...(referrersOf.get(subject) ?? []), key]);
  }
  while (queue.length > 0) {
    const turn = yieldIfDue();
    if (turn) await turn;
    const key = queue.pop() as string;
    const refs = await reader.get((entries.revisions.get(key) as { digest: Digest }).digest);
    for (const child of refs?.children ?? []) keep(child.toString());
    for (const referrer of referrersOf.get(key) ?? []) keep(referrer);
  }
  return kept;
}

/**
 * The mark phase over one inventory of `repositories/`: decides which revisions are kept (all of
 * them, or with `deleteUntagged` those `keptRevisionsOf` keeps) and marks everything they need.
 * Every revision's manifest and every tag's link is read once, `concurrency` reads at a time over
 * all repositories.
 */
export async function markReachable(inventory: RepositoryInventory, options: MarkOptions): Promise<MarkResult> {
  const unique = new Map<string, Digest>();
  for (const entries of inventory.values()) for (const [key, link] of entries.revisions) unique.set(key, link.digest);
  await mapLimit([...unique.values()], options.concurrency, (digest) => options.reader.get(digest));

  // Every tag's current link, read at once over all repositories (only needed to tell untagged ones).
  const tagTargets = new Map<string, Digest | undefined>();
  if (options.deleteUntagged) {
    const paths = [...inventory.values()].flatMap((entries) => [...entries.tags.values()]);
    const targets = await mapLimit(paths, options.concurrency, (path) => options.storage.readLink(path));
    paths.forEach((path, i) => tagTargets.set(path, targets[i]));
  }
  const marked = new Set<string>();
  const unneeded: RevisionRef[] = [];
  const missing: RevisionRef[] = [];
  const unreadable: RevisionRef[] = [];
  let keptRevisions = 0;
  for (const [repository, entries] of inventory) {
    const kept = options.deleteUntagged ? await keptRevisionsOf(entries, tagTargets, options) : new Set(entries.revisions.keys());
    const roots: Digest[] = [];
    for (const [key, link] of entries.revisions) {
      if (kept.has(key)) roots.push(link.digest);
      else unneeded.push({ repository, digest: link.digest });
    }
    keptRevisions += roots.length;
    const found = await markClosure(roots, options.reader, marked);
    missing.push(...found.missing.map((digest) => ({ repository, digest })));
    unreadable.push(...found.unreadable.map((digest) => ({ repository, digest })));
  }
  return { marked, keptRevisions, unneededRevisions: unneeded, missingManifests: missing, unreadableManifests: unreadable };
}
