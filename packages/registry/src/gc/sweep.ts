import type { Logger } from '@berth/storage-driver';
import { mapLimit } from '../concurrency';
import type { Storage } from '../storage';
import type { RepositoryInventory } from './inventory';
import { inventoryRepositories } from './inventory';
import { decisionPath, planPath, runDir } from './layout';
import type { ManifestReader } from './manifest-refs';
import { encodeDecision, encodePlan, revisionKey, type Decision, type SweepPlan } from './plan';
import { findStillNeeded } from './recheck';
import type { GcProgressEvent } from './report';
import { sleep, startHeartbeat, type SweepOutcome } from './run-state';
import {
  dropTagHistory,
  removeRevision,
  restoreBlob,
  restoreRevision,
  setAsideBlob,
  type RemovedRevision,
  type SetAsideBlob,
  type SetAsideContext,
} from './set-aside';

export interface SweepSettings {
  readonly runId: string;
  readonly graceMs: number;
  readonly settleMs: number;
  readonly concurrency: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: GcProgressEvent) => void;
  /** The mark's walk of `repositories/`, compared with a fresh one by the re-check. */
  readonly before: RepositoryInventory;
  /** The mark's manifest reader (its cache saves reading known manifests again). */
  readonly reader: ManifestReader;
  /** Where item failures go (the run goes on past them). */
  readonly fail: (path: string, error: unknown) => void;
}

const blobKey = (a: SetAsideBlob): string => a.candidate.digest.toString();
const revKey = (r: RemovedRevision): string => revisionKey(r.candidate.repository, r.candidate.digest);

/**
 * Journals the plan, sets everything in it aside, waits `settleMs`, re-checks, and then puts back
 * what concurrent pushes need and deletes the rest (the run's directory, quarantine included). When
 * the run is interrupted or the re-check fails, everything is put back; if putting back fails, the
 * directory and its journal stay for the next run to finish (see `recovery.ts`).
 */
export async function sweep(storage: Storage, plan: SweepPlan, settings: SweepSettings): Promise<SweepOutcome> {
  const { runId, concurrency, logger, fail } = settings;
  const ctx: SetAsideContext = { storage, runId };
  const interrupted = (): boolean => settings.signal?.aborted === true;
  await storage.driver.putContent(planPath(runId), encodePlan(runId, new Date(), plan));
  const heartbeat = startHeartbeat(storage, runId, logger);

  const removed: RemovedRevision[] = [];
  const aside: SetAsideBlob[] = [];
  let changed: SetAsideBlob[] = [];
  let decision: Decision | undefined;
  try {
    await mapLimit(plan.revisions, concurrency, async (candidate) => {
      if (interrupted()) return;
      const revision: RemovedRevision = { candidate, removed: false };
      removed.push(revision);
      await removeRevision(ctx, revision).catch((error: unknown) => fail(revKey(revision), error));
    });
    await mapLimit(plan.blobs, concurrency, async (candidate) => {
      if (interrupted()) return;
      const item: SetAsideBlob = { candidate, unlinked: [], moved: false };
      aside.push(item);
      try {
        if ((await setAsideBlob(ctx, item, Date.now() - settings.graceMs)) === 'changed') changed.push(item);
      } catch (error) {
        fail(blobKey(item), error);
      }
    });
    await sleep(settings.settleMs, settings.signal);
    if (!interrupted()) decision = await recheck(storage, settings, aside, removed);
  } finally {
    await heartbeat.stop();
  }

  const rescuedBlobs = new Set(decision ? decision.rescuedBlobs : aside.map(blobKey));
  const rescuedRevisions = new Set(decision ? decision.rescuedRevisions : removed.map(revKey));
  let putBackFailed = false;
  const failPutBack = (path: string, error: unknown): void => {
    putBackFailed = true;
    fail(path, error);
  };
  // Blobs first: a revision is only relinked when its manifest's data is in place.
  const putBack = aside.filter((a) => rescuedBlobs.has(blobKey(a)) || !a.moved);
  await mapLimit(putBack, concurrency, (a) => restoreBlob(ctx, a).catch((error: unknown) => failPutBack(blobKey(a), error)));
  await mapLimit(removed, concurrency, async (r) => {
    const step = rescuedRevisions.has(revKey(r)) ? restoreRevision(ctx, r) : r.removed ? dropTagHistory(ctx, r.candidate) : undefined;
    await step?.catch((error: unknown) => failPutBack(revKey(r), error));
  });
  // The quarantine goes with the run's directory (on S3: one listing, DeleteObjects per 1000 keys).
  if (!putBackFailed) await storage.deleteIfExists(runDir(runId)).catch((error: unknown) => fail(runDir(runId), error));

  if (!decision) changed = [];
  const deleted = aside.filter((a) => a.moved && !rescuedBlobs.has(blobKey(a)));
  const rescued = decision ? aside.filter((a) => a.moved && rescuedBlobs.has(blobKey(a))) : [];
  const gone = removed.filter((r) => r.removed && !rescuedRevisions.has(revKey(r)));
  const revived = decision ? removed.filter((r) => r.removed && rescuedRevisions.has(revKey(r))) : [];
  for (const a of deleted) logger.debug('garbage collection: deleted blob', { digest: blobKey(a), size: a.candidate.size, unlinkedFrom: a.unlinked });
  for (const r of gone) logger.debug('garbage collection: deleted untagged manifest', { repository: r.candidate.repository, digest: r.candidate.digest.toString() });
  for (const a of rescued) logger.info('garbage collection: put back a blob that a push made during the run needs', { digest: blobKey(a) });
  for (const r of revived) logger.info('garbage collection: put back a manifest that a push made during the run needs', { repository: r.candidate.repository, digest: r.candidate.digest.toString() });
  settings.onProgress?.({ phase: 'swept', deletedBlobs: deleted.length, deletedManifests: gone.length });
  return {
    deletedBlobs: deleted.map((a) => ({ digest: blobKey(a), size: a.candidate.size })),
    deletedManifests: gone.map((r) => ({ repository: r.candidate.repository, digest: r.candidate.digest.toString() })),
    layerLinksRemoved: deleted.reduce((n, a) => n + a.unlinked.length, 0),
    protectedBlobs: plan.protectedBlobs + changed.length,
    protectedBytes: plan.protectedBytes + changed.reduce((n, a) => n + a.candidate.size, 0),
    rescuedBlobs: rescued.map((a) => ({ digest: blobKey(a), size: a.candidate.size })),
    rescuedManifests: revived.map((r) => ({ repository: r.candidate.repository, digest: r.candidate.digest.toString() })),
  };
}

/** Walks `repositories/` again and journals what is still needed; undefined (put everything back) when that fails. */
async function recheck(storage: Storage, settings: SweepSettings, aside: SetAsideBlob[], removed: RemovedRevision[]): Promise<Decision | undefined> {
  try {
    const after = await inventoryRepositories(storage.driver);
    const touched = new Set(aside.filter((a) => a.moved || a.unlinked.length > 0).map(blobKey));
    const planned = new Set(removed.map(revKey));
    const removedKeys = new Set(removed.filter((r) => r.removed).map(revKey));
    const decision = await findStillNeeded(settings.before, after, settings.reader, touched, { planned, removed: removedKeys });
    await storage.driver.putContent(decisionPath(settings.runId), encodeDecision(decision));
    const rechecked = { newRevisions: decision.newRevisions, stillNeeded: decision.rescuedBlobs.length };
    settings.logger.debug('garbage collection: re-check done', rechecked);
    settings.onProgress?.({ phase: 'rechecked', ...rechecked });
    return decision;
  } catch (error) {
    settings.fail(runDir(settings.runId), new Error(`re-check failed, putting everything back: ${error instanceof Error ? error.message : String(error)}`));
    return undefined;
  }
}
