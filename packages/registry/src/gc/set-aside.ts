import { parentPath } from '@berth/storage-driver';
import { pathFor } from '../paths';
import { isNotFound, type Storage } from '../storage';
import { quarantinePath } from './layout';
import type { BlobCandidate, RevisionCandidate } from './plan';

/**
 * The reversible half of the sweep. A blob is *set aside* by removing its `_layers` links and moving
 * its data into the run's quarantine; an untagged revision by removing its revision and referrer
 * links. Until the run deletes its directory, every step can be undone (`restoreBlob`,
 * `restoreRevision`); see docs/garbage-collection.md for why this order makes online collection safe.
 */

/**
 * Times compared in whole seconds: S3 lists modification times in milliseconds but its HEAD answers
 * in seconds, so the walk's and the stat's time of an unchanged object differ below the second.
 */
function wholeSeconds(time: Date): number {
  return Math.floor(time.getTime() / 1000);
}

/** A blob being set aside; the fields record how far that got, so that it can be undone. */
export interface SetAsideBlob {
  readonly candidate: BlobCandidate;
  /** Repositories whose `_layers` link this run removed. */
  readonly unlinked: string[];
  /** True once the data is in the quarantine. */
  moved: boolean;
}

/** An untagged revision being removed. */
export interface RemovedRevision {
  readonly candidate: RevisionCandidate;
  /** True once its revision link is gone. */
  removed: boolean;
}

export interface SetAsideContext {
  readonly storage: Storage;
  readonly runId: string;
}

/**
 * Sets one blob aside, unless the re-check right before says it is in use: its data is gone (someone
 * else collected it), or its modification time differs from the walk's or is after `cutoffMs`
 * (it was rewritten: a manifest re-pushed, a blob re-uploaded). Links go first, so that from then on
 * no request can find the blob through this repository (HEAD, GET, mount, a manifest PUT's reference
 * check); then the data moves. Progress is recorded in `aside` as it happens.
 */
export async function setAsideBlob(ctx: SetAsideContext, aside: SetAsideBlob, cutoffMs: number): Promise<'setAside' | 'gone' | 'changed'> {
  const { digest, modTime, links } = aside.candidate;
  const dataPath = pathFor({ kind: 'blobData', digest });
  const info = await ctx.storage.stat(dataPath);
  if (!info || info.isDir) return 'gone';
  if (wholeSeconds(info.modTime) !== wholeSeconds(modTime) || info.modTime.getTime() > cutoffMs) return 'changed';
  for (const repository of links) {
    if (await ctx.storage.deleteIfExists(pathFor({ kind: 'layerDir', name: repository, digest }))) aside.unlinked.push(repository);
  }
  try {
    await ctx.storage.driver.move(dataPath, quarantinePath(ctx.runId, digest));
  } catch (error) {
    if (isNotFound(error)) return 'gone';
    throw error;
  }
  aside.moved = true;
  return 'setAside';
}

/**
 * Undoes `setAsideBlob`: moves the data back when it is in the quarantine (identical bytes a
 * concurrent upload may have published meanwhile are simply replaced), then rewrites the removed
 * links, provided the data is at its place. Idempotent.
 */
export async function restoreBlob(ctx: SetAsideContext, aside: SetAsideBlob): Promise<void> {
  const { digest } = aside.candidate;
  const dataPath = pathFor({ kind: 'blobData', digest });
  if (aside.moved) {
    try {
      await ctx.storage.driver.move(quarantinePath(ctx.runId, digest), dataPath);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  if (aside.unlinked.length === 0 || !(await ctx.storage.exists(dataPath))) return;
  for (const repository of aside.unlinked) {
    await ctx.storage.writeLink(pathFor({ kind: 'layerLink', name: repository, digest }), digest);
  }
}

/** Removes an untagged revision's link and its referrer links (its tag history goes at finalisation). */
export async function removeRevision(ctx: SetAsideContext, revision: RemovedRevision): Promise<void> {
  const { repository, digest, referrerLinks } = revision.candidate;
  revision.removed = await ctx.storage.deleteIfExists(pathFor({ kind: 'revisionDir', name: repository, digest }));
  for (const link of referrerLinks) await ctx.storage.deleteIfExists(parentPath(link));
}

/**
 * Undoes `removeRevision` when the manifest's data is stored (restore its blob first). Rewriting a
 * link that is there already changes nothing. Idempotent.
 */
export async function restoreRevision(ctx: SetAsideContext, revision: RemovedRevision): Promise<void> {
  const { repository, digest, referrerLinks } = revision.candidate;
  if (!(await ctx.storage.exists(pathFor({ kind: 'blobData', digest })))) return;
  await ctx.storage.writeLink(pathFor({ kind: 'revisionLink', name: repository, digest }), digest);
  for (const link of referrerLinks) await ctx.storage.writeLink(link, digest);
}

/** Removes the tag-history entries of a revision that is gone for good. */
export async function dropTagHistory(ctx: SetAsideContext, revision: RevisionCandidate): Promise<void> {
  for (const link of revision.tagIndexLinks) await ctx.storage.deleteIfExists(parentPath(link));
}
