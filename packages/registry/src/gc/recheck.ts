import type { RepositoryInventory } from './inventory';
import type { ManifestReader } from './manifest-refs';
import { markClosure } from './mark';
import { revisionKey, type Decision } from './plan';

/**
 * The re-check after the settle time, over a fresh walk of `repositories/` (`after`) compared with
 * the mark's (`before`). Needed again are:
 * - every set-aside blob that a revision written since the mark reaches (its manifest, config,
 *   layers, index children recursively): a manifest PUT that passed its reference check before the
 *   links were removed;
 * - every set-aside blob that has a `_layers` link again: an upload or mount committed it meanwhile
 *   (possibly without rewriting the data, which it found in place);
 * - every removed revision that such a revision reaches as an index child in its repository.
 * The revisions looked at are those whose needs the mark did not already cover: the ones it did not
 * see, and the ones it planned to remove (there again because they were pushed again, or because
 * removing them failed).
 */
export async function findStillNeeded(
  before: RepositoryInventory,
  after: RepositoryInventory,
  reader: ManifestReader,
  setAsideBlobs: ReadonlySet<string>,
  revisions: { readonly planned: ReadonlySet<string>; readonly removed: ReadonlySet<string> },
): Promise<Decision & { newRevisions: number }> {
  const blobs = new Set<string>();
  const needed = new Set<string>();
  let newRevisions = 0;
  for (const [repository, entries] of after) {
    for (const key of entries.layers.keys()) if (setAsideBlobs.has(key)) blobs.add(key);
    const seen = before.get(repository)?.revisions;
    const roots = [...entries.revisions.entries()]
      .filter(([key]) => !seen?.has(key) || revisions.planned.has(revisionKey(repository, key)))
      .map(([, link]) => link.digest);
    if (roots.length === 0) continue;
    newRevisions += roots.length;
    const reached = new Set<string>();
    await markClosure(roots, reader, reached);
    for (const key of reached) {
      if (setAsideBlobs.has(key)) blobs.add(key);
      if (revisions.removed.has(revisionKey(repository, key))) needed.add(revisionKey(repository, key));
    }
  }
  return { rescuedBlobs: [...blobs].sort(), rescuedRevisions: [...needed].sort(), newRevisions };
}
