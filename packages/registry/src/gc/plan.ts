import { Digest } from '../digest';
import type { BlobEntry, RepositoryInventory } from './inventory';
import type { MarkResult } from './mark';

/** A blob the sweep will set aside: unmarked, and older than the grace period at mark time. */
export interface BlobCandidate {
  readonly digest: Digest;
  readonly size: number;
  /** Its data's modification time in the blob walk; a different one at set-aside time means it was rewritten. */
  readonly modTime: Date;
  /** Repositories that had a `_layers` link to it at mark time. */
  readonly links: readonly string[];
}

/** An untagged revision the sweep will remove (`deleteUntagged` only). */
export interface RevisionCandidate {
  readonly repository: string;
  readonly digest: Digest;
  /** Its `_manifests/referrers/.../link` files. */
  readonly referrerLinks: readonly string[];
  /** Its `_manifests/tags/<tag>/index/.../link` files (tag history), removed once it is gone for good. */
  readonly tagIndexLinks: readonly string[];
}

export interface SweepPlan {
  readonly blobs: readonly BlobCandidate[];
  readonly revisions: readonly RevisionCandidate[];
  /** Unmarked blobs kept because their data or a link to them is younger than the cut-off. */
  readonly protectedBlobs: number;
  readonly protectedBytes: number;
}

/**
 * What to sweep: every blob of the walk that no kept manifest needs and that is older than
 * `cutoffMs`, unless some repository linked it (upload commit, mount) after the cut-off: a
 * fresh link to an old blob is a push re-using it. Plus the untagged revisions the mark did not keep.
 */
export function planSweep(inventory: RepositoryInventory, blobs: Map<string, BlobEntry>, mark: MarkResult, cutoffMs: number): SweepPlan {
  const linksByBlob = new Map<string, { repositories: string[]; newest: number }>();
  for (const [repository, entries] of inventory) {
    for (const [key, link] of entries.layers) {
      const known = linksByBlob.get(key) ?? { repositories: [], newest: 0 };
      known.repositories.push(repository);
      known.newest = Math.max(known.newest, link.modTime.getTime());
      linksByBlob.set(key, known);
    }
  }
  const candidates: BlobCandidate[] = [];
  let protectedBlobs = 0;
  let protectedBytes = 0;
  for (const [key, blob] of blobs) {
    if (mark.marked.has(key)) continue;
    const links = linksByBlob.get(key);
    if (blob.modTime.getTime() > cutoffMs || (links && links.newest > cutoffMs)) {
      protectedBlobs++;
      protectedBytes += blob.size;
      continue;
    }
    candidates.push({ digest: blob.digest, size: blob.size, modTime: blob.modTime, links: links?.repositories ?? [] });
  }
  const revisions = mark.unneededRevisions.map(({ repository, digest }): RevisionCandidate => {
    const entries = inventory.get(repository);
    const key = digest.toString();
    return {
      repository,
      digest,
      referrerLinks: entries?.referrerLinks.get(key) ?? [],
      tagIndexLinks: entries?.tagIndex.get(key) ?? [],
    };
  });
  return { blobs: candidates, revisions, protectedBlobs, protectedBytes };
}

/** `plan.json`: what a run set aside, so that a later run can undo or finish it. */
interface PlanJson {
  readonly version: 1;
  readonly runId: string;
  readonly startedAt: string;
  readonly blobs: { digest: string; size: number; modTime: string; links: string[] }[];
  readonly revisions: { repository: string; digest: string; referrerLinks: string[]; tagIndexLinks: string[] }[];
}

export function encodePlan(runId: string, startedAt: Date, plan: Pick<SweepPlan, 'blobs' | 'revisions'>): Buffer {
  const json: PlanJson = {
    version: 1,
    runId,
    startedAt: startedAt.toISOString(),
    blobs: plan.blobs.map((b) => ({ digest: b.digest.toString(), size: b.size, modTime: b.modTime.toISOString(), links: [...b.links] })),
    revisions: plan.revisions.map((r) => ({
      repository: r.repository,
      digest: r.digest.toString(),
      referrerLinks: [...r.referrerLinks],
      tagIndexLinks: [...r.tagIndexLinks],
    })),
  };
  return Buffer.from(JSON.stringify(json));
}

/** Parses `plan.json`; throws when it is not one (the caller reports it and leaves the directory). */
export function decodePlan(content: Buffer): Pick<SweepPlan, 'blobs' | 'revisions'> {
  const json = JSON.parse(content.toString('utf8')) as PlanJson;
  if (json.version !== 1 || !Array.isArray(json.blobs) || !Array.isArray(json.revisions)) throw new Error('not a garbage collection plan');
  return {
    blobs: json.blobs.map((b) => ({ digest: Digest.parse(b.digest), size: b.size, modTime: new Date(b.modTime), links: b.links })),
    revisions: json.revisions.map((r) => ({
      repository: r.repository,
      digest: Digest.parse(r.digest),
      referrerLinks: r.referrerLinks,
      tagIndexLinks: r.tagIndexLinks,
    })),
  };
}

/** `decision.json`: which set-aside items the re-check found needed (the rest are deleted). */
export interface Decision {
  readonly rescuedBlobs: readonly string[];
  /** `<repository>@<digest>`. */
  readonly rescuedRevisions: readonly string[];
}

export function revisionKey(repository: string, digest: Digest | string): string {
  return `${repository}@${digest.toString()}`;
}

export function encodeDecision(decision: Decision): Buffer {
  return Buffer.from(JSON.stringify({ version: 1, ...decision }));
}

export function decodeDecision(content: Buffer): Decision {
  const json = JSON.parse(content.toString('utf8')) as Decision & { version?: number };
  if (json.version !== 1 || !Array.isArray(json.rescuedBlobs) || !Array.isArray(json.rescuedRevisions)) {
    throw new Error('not a garbage collection decision');
  }
  return { rescuedBlobs: json.rescuedBlobs, rescuedRevisions: json.rescuedRevisions };
}
