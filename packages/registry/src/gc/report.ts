/** A blob garbage collection deleted (or, in a dry run, would delete). */
export interface CollectedBlob {
  readonly digest: string;
  readonly size: number;
}

/** A manifest revision of one repository. */
export interface CollectedManifest {
  readonly repository: string;
  readonly digest: string;
}

/** What one `collectGarbage` run did. */
export interface GarbageCollectReport {
  /** Names the run's state directory (`berth-gc/<runId>`); also in every log line. */
  readonly runId: string;
  readonly dryRun: boolean;
  readonly deleteUntagged: boolean;
  readonly gracePeriodMs: number;
  readonly repositories: number;
  /** Manifest revisions seen, over all repositories. */
  readonly manifests: number;
  /** Blob data files seen (manifests included). */
  readonly blobs: number;
  /** Blobs some kept manifest needs. */
  readonly marked: number;
  /** Blobs deleted (dry run: that would be deleted), with their sizes. */
  readonly deletedBlobs: readonly CollectedBlob[];
  readonly deletedBytes: number;
  /** Untagged manifests deleted (only with `deleteUntagged`; dry run: that would be). */
  readonly deletedManifests: readonly CollectedManifest[];
  /** `_layers` links removed along with the blobs they named. */
  readonly layerLinksRemoved: number;
  /** Unreferenced blobs kept because they (or a link to them) are younger than the grace period, or changed during the run. */
  readonly protectedBlobs: number;
  readonly protectedBytes: number;
  /** Blobs set aside and then put back because a push made during the run needed them. */
  readonly rescuedBlobs: readonly CollectedBlob[];
  /** Untagged manifests removed and then put back because a manifest pushed during the run needs them. */
  readonly rescuedManifests: readonly CollectedManifest[];
  /** Kept manifests whose data is missing from storage: their references could not be marked. */
  readonly missingManifests: readonly CollectedManifest[];
  /** State directories of earlier, interrupted runs that this run finished or undid. */
  readonly recoveredRuns: readonly string[];
  /** Items that failed (the run went on past them), or the reason the run undid its work. */
  readonly errors: readonly { readonly path: string; readonly error: string }[];
  /** True when the signal ended the run; whatever it had set aside was put back. */
  readonly interrupted: boolean;
  readonly durationMs: number;
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The one summary line of a run, as the command prints it and the scheduler logs it. */
export function summarizeReport(report: GarbageCollectReport): string {
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const parts = [
    `${report.marked} of ${report.blobs} blobs marked in ${report.repositories} repositories`,
    `${verb} ${report.deletedBlobs.length} blobs (${formatBytes(report.deletedBytes)})`,
  ];
  if (report.deleteUntagged) parts.push(`${verb} ${report.deletedManifests.length} untagged manifests`);
  parts.push(`${report.protectedBlobs} unreferenced blobs (${formatBytes(report.protectedBytes)}) kept by the grace period`);
  if (report.rescuedBlobs.length + report.rescuedManifests.length > 0) {
    parts.push(`${report.rescuedBlobs.length} blobs and ${report.rescuedManifests.length} manifests kept because a concurrent push needed them`);
  }
  if (report.errors.length > 0) parts.push(`${report.errors.length} errors`);
  if (report.interrupted) parts.push('interrupted (everything set aside was put back)');
  return `garbage collection${report.dryRun ? ' (dry run)' : ''}: ${parts.join('; ')}`;
}

/**
 * What a collection tells as it goes (`GarbageCollectOptions.onProgress`): the mark is done (with
 * its counts), the re-check after settling is done, the sweep is done (what it deleted).
 */
export type GcProgressEvent =
  | { readonly phase: 'marked'; readonly blobs: number; readonly marked: number; readonly candidates: number; readonly manifestsRead: number }
  | { readonly phase: 'rechecked'; readonly newRevisions: number; readonly stillNeeded: number }
  | { readonly phase: 'swept'; readonly deletedBlobs: number; readonly deletedManifests: number };
