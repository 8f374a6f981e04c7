import type { Logger } from '@berth/storage-driver';
import type { Storage } from '../storage';
import { heartbeatPath } from './layout';
import type { CollectedBlob, CollectedManifest } from './report';

/** What the sweep contributes to the report. */
export interface SweepOutcome {
  readonly deletedBlobs: readonly CollectedBlob[];
  readonly deletedManifests: readonly CollectedManifest[];
  readonly layerLinksRemoved: number;
  readonly protectedBlobs: number;
  readonly protectedBytes: number;
  readonly rescuedBlobs: readonly CollectedBlob[];
  readonly rescuedManifests: readonly CollectedManifest[];
}

/** Rewrites the run's `heartbeat` this often, so that other runs do not take its directory for abandoned. */
export const HEARTBEAT_INTERVAL_MS = 60_000;

/**
 * Writes `heartbeat` now and every minute until `stop`, which resolves once no write is in flight
 * (so none lands after the run deleted its directory). Failures are logged; the timer never holds
 * the process.
 */
export function startHeartbeat(storage: Storage, runId: string, logger: Logger): { stop(): Promise<void> } {
  let pending: Promise<void> = Promise.resolve();
  const beat = (): void => {
    pending = storage.driver.putContent(heartbeatPath(runId), Buffer.from(new Date().toISOString())).catch((error: unknown) => {
      logger.warn('garbage collection: could not write the heartbeat', { error: error instanceof Error ? error.message : String(error) });
    });
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await pending;
    },
  };
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
