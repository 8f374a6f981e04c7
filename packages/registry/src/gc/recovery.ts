import type { Logger } from '@berth/storage-driver';
import type { Storage } from '../storage';
import { decisionPath, GC_ROOT, planPath, runDir } from './layout';
import { decodeDecision, decodePlan, revisionKey } from './plan';
import { dropTagHistory, restoreBlob, restoreRevision, type SetAsideContext } from './set-aside';

/** A run directory untouched for this long belongs to a run that is gone (runs rewrite `heartbeat` every minute). */
export const DEFAULT_STALE_RUN_MS = 5 * 60_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The newest modification time of anything in a run directory (0 when it is empty or gone). */
async function lastActivity(storage: Storage, dir: string): Promise<number> {
  let newest = 0;
  try {
    await storage.driver.walk(dir, (info) => {
      newest = Math.max(newest, info.modTime.getTime());
    });
  } catch {
    return 0;
  }
  return newest;
}

/**
 * Finishes or undoes one interrupted run from its journal. With a `decision.json` the run had made
 * up its mind: the needed items are put back and the rest (still in the quarantine) is deleted with
 * the directory. Without one, everything in `plan.json` is put back (links rewritten only where the
 * data is in place), which is always safe: it recreates only what existed when that run marked.
 */
async function recoverRun(storage: Storage, runId: string): Promise<void> {
  const ctx: SetAsideContext = { storage, runId };
  const planContent = await storage.getContent(planPath(runId));
  if (planContent !== undefined) {
    const plan = decodePlan(planContent);
    const decisionContent = await storage.getContent(decisionPath(runId));
    const decision = decisionContent === undefined ? undefined : decodeDecision(decisionContent);
    const rescuedBlobs = new Set(decision?.rescuedBlobs);
    const rescuedRevisions = new Set(decision?.rescuedRevisions);
    const keepBlob = (digest: string): boolean => !decision || rescuedBlobs.has(digest);
    const keepRevision = (key: string): boolean => !decision || rescuedRevisions.has(key);
    for (const candidate of plan.blobs) {
      if (keepBlob(candidate.digest.toString())) await restoreBlob(ctx, { candidate, unlinked: [...candidate.links], moved: true });
    }
    for (const candidate of plan.revisions) {
      if (keepRevision(revisionKey(candidate.repository, candidate.digest))) await restoreRevision(ctx, { candidate, removed: true });
      else await dropTagHistory(ctx, candidate);
    }
  }
  await storage.deleteIfExists(runDir(runId));
}

/**
 * Recovers the state directories that interrupted runs (a crash, a kill) left under `berth-gc/`,
 * except `currentRunId` and directories active within `staleAfterMs` (another run in progress).
 * With `dryRun`, only reports what it would recover. Failures are reported, never thrown: the
 * directory stays for the next run.
 */
export async function recoverInterruptedRuns(
  storage: Storage,
  options: { currentRunId: string; staleAfterMs: number; dryRun: boolean; logger: Logger },
): Promise<{ recovered: string[]; errors: { path: string; error: string }[] }> {
  const recovered: string[] = [];
  const errors: { path: string; error: string }[] = [];
  const runIds = (await storage.listNames(GC_ROOT)) ?? [];
  for (const runId of runIds) {
    if (runId === options.currentRunId) continue;
    const dir = runDir(runId);
    const idleMs = Date.now() - (await lastActivity(storage, dir));
    if (idleMs < options.staleAfterMs) {
      options.logger.info('garbage collection: another run seems active, leaving its state alone', { otherRun: runId, idleMs });
      continue;
    }
    if (options.dryRun) {
      options.logger.info('garbage collection (dry run): would recover an interrupted run', { otherRun: runId });
      recovered.push(runId);
      continue;
    }
    try {
      await recoverRun(storage, runId);
      recovered.push(runId);
      options.logger.warn('garbage collection: recovered the state of an interrupted run', { otherRun: runId });
    } catch (error) {
      errors.push({ path: dir, error: message(error) });
      options.logger.error('garbage collection: could not recover an interrupted run', { otherRun: runId, error: message(error) });
    }
  }
  return { recovered, errors };
}
