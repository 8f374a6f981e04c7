import type { Logger, StorageDriver } from '@berth/storage-driver';
import { mapLimit } from './concurrency';
import { noopLogger } from './context';
import { pathFor, ROOT } from './paths';
import { isNotFound, Storage } from './storage';

/** Parallel `list`/`stat`/`delete` calls of one purge run. */
const PURGE_CONCURRENCY = 8;

/**
 * What a driver that can reclaim unfinished multipart writes offers (the s3 driver's
 * `abortMultipartUploads`). Duck-typed, so the registry depends on no driver package.
 */
export interface MultipartUploadAborting {
  /** Aborts the unfinished writes at `path` or below it started before `olderThan`; resolves with how many. */
  abortMultipartUploads(olderThan: Date, path?: string): Promise<number>;
}

/** True when `driver` offers `abortMultipartUploads` (the s3 driver does). */
export function abortsMultipartUploads(driver: StorageDriver): driver is StorageDriver & MultipartUploadAborting {
  return typeof (driver as Partial<MultipartUploadAborting>).abortMultipartUploads === 'function';
}

export interface UploadPurgeOptions {
  /** Sessions that started before this instant are purged; so are multipart uploads initiated before it. */
  readonly olderThan: Date;
  /** Only find and report: nothing is deleted or aborted. */
  readonly dryRun?: boolean;
  /** Each purged session is logged at info, failures at warn. */
  readonly logger?: Logger;
  /** Ends the run early (between sessions), for shutdown. The report then has `interrupted: true`. */
  readonly signal?: AbortSignal;
}

/** An upload session found older than the cut-off. */
export interface StaleUpload {
  readonly repository: string;
  readonly id: string;
  /** Its `startedat`; for a directory without one, the newest modification time found in it. */
  readonly startedAt: Date;
}

export interface UploadPurgeReport {
  readonly dryRun: boolean;
  /** Sessions deleted (in a dry run: that would have been deleted). */
  readonly purged: readonly StaleUpload[];
  /** Sessions younger than the cut-off, left alone. */
  readonly kept: number;
  /**
   * Unfinished multipart uploads aborted: those of the purged sessions plus any other under the
   * registry root older than the cut-off. 0 in a dry run; undefined when the driver has none to abort.
   */
  readonly multipartUploadsAborted: number | undefined;
  /** Sessions that could not be read or deleted (the run goes on past them), and a failed multipart sweep. */
  readonly errors: readonly { readonly path: string; readonly error: string }[];
  /** True when `signal` ended the run before it finished. */
  readonly interrupted: boolean;
  readonly durationMs: number;
}

interface FoundSession {
  readonly repository: string;
  readonly id: string;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Every upload session directory, `repositories/<name>/_uploads/<id>`, found with one `list` per
 * directory of the repository-name tree (never a walk of every link file): directories whose name
 * starts with `_` hold no nested repositories, since no name component may start with `_`.
 */
async function findSessions(storage: Storage): Promise<FoundSession[]> {
  const found: FoundSession[] = [];
  async function visit(dir: string, name: string): Promise<void> {
    const children = await storage.listNames(dir);
    if (!children) return;
    if (name !== '' && children.includes('_uploads')) {
      const ids = (await storage.listNames(pathFor({ kind: 'uploads', name }))) ?? [];
      for (const id of ids) found.push({ repository: name, id });
    }
    const nested = children.filter((child) => !child.startsWith('_'));
    await mapLimit(nested, PURGE_CONCURRENCY, (child) => visit(`${dir}/${child}`, name === '' ? child : `${name}/${child}`));
  }
  await visit(pathFor({ kind: 'repositories' }), '');
  return found;
}

/**
 * When a session started: the date in its `startedat` file; when that does not parse, the file's
 * modification time. A directory without `startedat` is no session Berth or distribution would
 * continue (both write `startedat` first): its age is the newest modification time of the directory
 * and its `data`, so a directory being created right now is not taken for an old one.
 */
async function startedAtOf(storage: Storage, session: FoundSession): Promise<Date> {
  const spec = { name: session.repository, id: session.id };
  const content = await storage.getContent(pathFor({ kind: 'uploadStartedAt', ...spec }));
  if (content !== undefined) {
    const parsed = new Date(content.toString('utf8').trim());
    if (!Number.isNaN(parsed.getTime())) return parsed;
    const info = await storage.stat(pathFor({ kind: 'uploadStartedAt', ...spec }));
    if (info) return info.modTime;
  }
  const times = await Promise.all([
    storage.stat(pathFor({ kind: 'uploadDir', ...spec })),
    storage.stat(pathFor({ kind: 'uploadData', ...spec })),
  ]);
  return new Date(Math.max(0, ...times.map((info) => info?.modTime.getTime() ?? 0)));
}

/**
 * Upload purging (`storage.maintenance.uploadpurging`): deletes every upload session directory
 * (`repositories/<name>/_uploads/<id>`) that started before `olderThan`, like distribution's
 * `PurgeUploads`. When the driver can abort multipart uploads (S3), it also aborts those of the
 * purged sessions and every other one under the registry root initiated before `olderThan`, so
 * abandoned parts stop being billed (distribution leaves them to a bucket lifecycle rule).
 *
 * Safe to run from several replicas at once: a session or upload already gone counts as purged.
 * A session still in use when it is purged fails its next request with BLOB_UPLOAD_UNKNOWN, so the
 * age must exceed the longest upload clients make (distribution's default, 168h, does). Driver
 * errors on one session are reported and the run continues; failing to list the repositories
 * rejects.
 */
export async function purgeUploads(driver: StorageDriver, options: UploadPurgeOptions): Promise<UploadPurgeReport> {
  const started = performance.now();
  const storage = new Storage(driver);
  const logger = options.logger ?? noopLogger;
  const dryRun = options.dryRun ?? false;
  const aborter = abortsMultipartUploads(driver) ? driver : undefined;
  const cutoff = options.olderThan.getTime();
  const errors: { path: string; error: string }[] = [];
  const purged: StaleUpload[] = [];
  let kept = 0;
  let aborted = 0;
  const interrupted = (): boolean => options.signal?.aborted === true;

  const sessions = await findSessions(storage);
  await mapLimit(sessions, PURGE_CONCURRENCY, async (session) => {
    if (interrupted()) return;
    const dir = pathFor({ kind: 'uploadDir', name: session.repository, id: session.id });
    try {
      const startedAt = await startedAtOf(storage, session);
      if (startedAt.getTime() >= cutoff) {
        kept++;
        return;
      }
      if (!dryRun) {
        // Its writer's parts first (they are garbage once the session goes), then its objects.
        const abortedHere = aborter ? await aborter.abortMultipartUploads(new Date(), dir) : 0;
        aborted += abortedHere;
        await storage.deleteIfExists(dir);
      }
      purged.push({ ...session, startedAt });
      logger.info(dryRun ? 'upload purge (dry run): would delete upload session' : 'upload purge: deleted upload session', {
        repository: session.repository,
        upload: session.id,
        startedAt: startedAt.toISOString(),
      });
    } catch (error) {
      if (isNotFound(error)) return; // gone meanwhile: cancelled, committed or purged by another replica
      errors.push({ path: dir, error: message(error) });
      logger.warn('upload purge: could not purge upload session', { path: dir, error: message(error) });
    }
  });

  if (aborter && !dryRun && !interrupted()) {
    try {
      const abortedOld = await aborter.abortMultipartUploads(options.olderThan, ROOT);
      aborted += abortedOld;
    } catch (error) {
      errors.push({ path: ROOT, error: message(error) });
      logger.warn('upload purge: could not abort old multipart uploads', { path: ROOT, error: message(error) });
    }
  }
  return {
    dryRun,
    purged,
    kept,
    multipartUploadsAborted: aborter ? aborted : undefined,
    errors,
    interrupted: interrupted(),
    durationMs: performance.now() - started,
  };
}
