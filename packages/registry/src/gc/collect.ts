import { randomBytes } from 'node:crypto';
import type { Logger, StorageDriver } from '@berth/storage-driver';
import { noopLogger } from '../context';
import { Storage } from '../storage';
import { inventoryBlobs, inventoryRepositories } from './inventory';
import { quarantinePath } from './layout';
import { ManifestReader } from './manifest-refs';
import { markReachable } from './mark';
import { planSweep, type SweepPlan } from './plan';
import { DEFAULT_STALE_RUN_MS, recoverInterruptedRuns } from './recovery';
import type { GarbageCollectReport, GcProgressEvent } from './report';
import type { SweepOutcome } from './run-state';
import { sweep } from './sweep';

/** Unreferenced blobs younger than this are kept (zot's `gcDelay` default). */
export const DEFAULT_GC_GRACE_PERIOD_MS = 60 * 60_000;
/** How long set-aside content waits before the re-check (longer than any request's check-to-write gap). */
export const DEFAULT_GC_SETTLE_MS = 10_000;
/** Storage operations of the sweep in flight at once. */
export const DEFAULT_GC_CONCURRENCY = 16;

export interface GarbageCollectOptions {
  /** Blobs whose data, or a link to which, is younger than this are kept, as are untagged revisions as young. Default 1h; 0 frees everything unreferenced. */
  readonly gracePeriodMs?: number;
  /** Also delete untagged manifests that no kept index needs and that refer to no kept manifest. */
  readonly deleteUntagged?: boolean;
  /** Only report: storage is not written at all. */
  readonly dryRun?: boolean;
  /** Wait between setting content aside and the re-check (default 10 s). */
  readonly settleMs?: number;
  /** Storage operations in flight at once (default 16). */
  readonly concurrency?: number;
  /** Per-item lines at debug; recoveries and failures at warn/error. */
  readonly logger?: Logger;
  /** Ends the run early; anything already set aside is put back. */
  readonly signal?: AbortSignal;
  /** Told when each phase ends (a progress display); called synchronously, must not throw. */
  readonly onProgress?: (event: GcProgressEvent) => void;
  /** Run directories idle this long count as left by a dead run (default 5 min). */
  readonly staleRunMs?: number;
  /**
   * Invalidates the shared metadata cache (`SharedMetadataCache.invalidateAll`): called before the
   * sweep changes storage (a rejection ends the run, storage untouched) and after it.
   */
  readonly invalidate?: () => Promise<void>;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function newRunId(): string {
  return `${new Date().toISOString().replace(/[:.]/g, '')}-${randomBytes(4).toString('hex')}`;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`garbage collection: ${name} must be a non-negative number, got ${value}`);
  return value;
}

/**
 * Garbage collection that may run while the registry serves pushes and pulls.
 *
 * 1. Mark: one walk of `repositories/`, one of `blobs/`, every revision's manifest read once; kept
 *    revisions (all, or with `deleteUntagged` the tagged ones and what they need) mark their
 *    manifests, configs, layers and index children.
 * 2. Plan: unmarked blobs older than the grace period (and not linked anew within it); untagged
 *    revisions nothing kept needs. The plan is journaled under `berth-gc/<run>/plan.json`.
 * 3. Set aside: each revision's links go; each blob is re-stat'ed (skipped if rewritten), unlinked
 *    from every repository, and its data moved into the run's quarantine.
 * 4. Settle, then re-check: a fresh walk finds what pushes made since the mark need (see
 *    `findStillNeeded`); that is put back, the rest is deleted with the run's directory.
 *
 * A failed or interrupted re-check puts everything back. Driver errors during the mark reject and
 * leave storage untouched; errors on single items are reported and the run goes on.
 */
export async function collectGarbage(driver: StorageDriver, options: GarbageCollectOptions = {}): Promise<GarbageCollectReport> {
  const started = performance.now();
  const graceMs = nonNegative('grace period', options.gracePeriodMs ?? DEFAULT_GC_GRACE_PERIOD_MS);
  const settleMs = nonNegative('settle time', options.settleMs ?? DEFAULT_GC_SETTLE_MS);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_GC_CONCURRENCY));
  const dryRun = options.dryRun ?? false;
  const deleteUntagged = options.deleteUntagged ?? false;
  const runId = newRunId();
  const logger = (options.logger ?? noopLogger).child({ gcRun: runId });
  const storage = new Storage(driver);
  const interrupted = (): boolean => options.signal?.aborted === true;
  const errors: { path: string; error: string }[] = [];
  const fail = (path: string, error: unknown): void => {
    errors.push({ path, error: message(error) });
    logger.warn('garbage collection: an operation failed', { path, error: message(error) });
  };

  const recovery = await recoverInterruptedRuns(storage, {
    currentRunId: runId,
    staleAfterMs: options.staleRunMs ?? DEFAULT_STALE_RUN_MS,
    dryRun,
    logger,
  });
  errors.push(...recovery.errors);

  const cutoffMs = Date.now() - graceMs;
  const before = await inventoryRepositories(driver);
  const blobs = await inventoryBlobs(driver);
  const reader = new ManifestReader(storage, {
    sizeHint: (digest) => blobs.get(digest.toString())?.size,
    fallbackPath: (digest) => quarantinePath(runId, digest),
  });
  const mark = await markReachable(before, { reader, storage, deleteUntagged, cutoffMs, concurrency });
  for (const { repository, digest } of [...mark.missingManifests, ...mark.unreadableManifests]) {
    logger.warn('garbage collection: a kept manifest cannot be read; blobs only it references may be collected', {
      repository,
      digest: digest.toString(),
    });
  }
  const plan = planSweep(before, blobs, mark, cutoffMs);
  const marked = { blobs: blobs.size, marked: mark.marked.size, candidates: plan.blobs.length, manifestsRead: reader.readCount };
  logger.debug('garbage collection: mark done', marked);
  options.onProgress?.({ phase: 'marked', ...marked });

  const base = {
    runId,
    dryRun,
    deleteUntagged,
    gracePeriodMs: graceMs,
    repositories: before.size,
    manifests: [...before.values()].reduce((n, entries) => n + entries.revisions.size, 0),
    blobs: blobs.size,
    marked: [...blobs.keys()].filter((key) => mark.marked.has(key)).length,
    missingManifests: mark.missingManifests.map(({ repository, digest }) => ({ repository, digest: digest.toString() })),
    recoveredRuns: recovery.recovered,
  };
  const finish = (outcome: SweepOutcome): GarbageCollectReport => ({
    ...base,
    ...outcome,
    deletedBytes: outcome.deletedBlobs.reduce((n, b) => n + b.size, 0),
    errors,
    interrupted: interrupted(),
    durationMs: performance.now() - started,
  });

  if (dryRun) return finish(wouldDelete(plan, logger));
  if (interrupted() || (plan.blobs.length === 0 && plan.revisions.length === 0)) {
    return finish({ ...nothingDeleted(), protectedBlobs: plan.protectedBlobs, protectedBytes: plan.protectedBytes });
  }
  await options.invalidate?.();
  let outcome: SweepOutcome;
  try {
    outcome = await sweep(storage, plan, { runId, graceMs, settleMs, concurrency, logger, signal: options.signal, onProgress: options.onProgress, before, reader, fail });
  } finally {
    // Swept (or put back) content must not be served from the shared cache of any replica.
    await options.invalidate?.().catch((error: unknown) => fail('shared cache', error));
  }
  return finish(outcome);
}

/** A dry run's outcome: what a real run would delete (each item logged at debug). */
function wouldDelete(plan: SweepPlan, logger: Logger): SweepOutcome {
  for (const blob of plan.blobs) {
    logger.debug('garbage collection (dry run): would delete blob', { digest: blob.digest.toString(), size: blob.size, linkedIn: blob.links });
  }
  for (const revision of plan.revisions) {
    logger.debug('garbage collection (dry run): would delete untagged manifest', { repository: revision.repository, digest: revision.digest.toString() });
  }
  return {
    ...nothingDeleted(),
    deletedBlobs: plan.blobs.map((b) => ({ digest: b.digest.toString(), size: b.size })),
    deletedManifests: plan.revisions.map((r) => ({ repository: r.repository, digest: r.digest.toString() })),
    layerLinksRemoved: plan.blobs.reduce((n, b) => n + b.links.length, 0),
    protectedBlobs: plan.protectedBlobs,
    protectedBytes: plan.protectedBytes,
  };
}

function nothingDeleted(): SweepOutcome {
  return { deletedBlobs: [], deletedManifests: [], layerLinksRemoved: 0, protectedBlobs: 0, protectedBytes: 0, rescuedBlobs: [], rescuedManifests: [] };
}

