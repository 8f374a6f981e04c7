import type { RepositoryContext } from '../context';
import type { Digest } from '../digest';
import { PolicyDeniedError } from '../errors';
import { pathFor } from '../paths';

/**
 * The checks clients' writes go through when a `policies` rule matches the repository: immutable
 * tags and quotas. Every answer comes from storage (never from a process's memory), so each process
 * and replica refuses the same writes.
 */

/** Runs `fn` under the repository's policy lock when its rule needs one (immutable tags or a quota). */
export function underPolicyLock<T>(ctx: RepositoryContext, fn: () => Promise<T>): Promise<T> {
  const matched = ctx.policies.ruleFor(ctx.name);
  if (!matched || (matched.rule.immutableTags.length === 0 && matched.rule.quota === undefined)) return fn();
  // Repository names have no `:`, so this key never meets an upload session's (`<name>/<id>`).
  return ctx.uploadLocks.run(`policy:${ctx.name}`, fn);
}

function immutableMessage(ctx: RepositoryContext, tag: string, glob: string): string {
  const key = ctx.policies.ruleFor(ctx.name)?.key ?? 'policies';
  return `tag ${tag} of ${ctx.name} is immutable (${key}.immutabletags ${JSON.stringify(glob)})`;
}

/** Refuses to point an immutable tag that exists at a different digest (re-pushing the same one is fine). */
export async function assertTagsMayPoint(ctx: RepositoryContext, tags: readonly string[], digest: Digest): Promise<void> {
  for (const tag of tags) {
    const glob = ctx.policies.immutableGlob(ctx.name, tag);
    if (glob === undefined) continue;
    const current = await ctx.storage.readLink(pathFor({ kind: 'tagCurrentLink', name: ctx.name, tag }));
    if (current && !current.equals(digest)) {
      throw new PolicyDeniedError(`${immutableMessage(ctx, tag, glob)}: it points at ${current} and cannot be moved to ${digest}`, {
        tag,
        digest: current.toString(),
      });
    }
  }
}

/** Refuses to delete an immutable tag. */
export function assertTagDeletable(ctx: RepositoryContext, tag: string): void {
  const glob = ctx.policies.immutableGlob(ctx.name, tag);
  if (glob !== undefined) throw new PolicyDeniedError(`${immutableMessage(ctx, tag, glob)}: it cannot be deleted`, { tag });
}

/** Refuses to delete a manifest an immutable tag points at (`tags`: the tags pointing at it). */
export function assertManifestDeletable(ctx: RepositoryContext, digest: Digest, tags: readonly string[]): void {
  for (const tag of tags) {
    const glob = ctx.policies.immutableGlob(ctx.name, tag);
    if (glob !== undefined) {
      throw new PolicyDeniedError(`${immutableMessage(ctx, tag, glob)}: manifest ${digest} it points at cannot be deleted`, {
        tag,
        digest: digest.toString(),
      });
    }
  }
}

/**
 * Refuses content that would take the repository's `bytes` over its quota. `additions` are the
 * digests (with sizes) the write would make the repository reference; those it already references
 * add nothing, so content already counted is never refused.
 */
export async function assertWithinQuota(ctx: RepositoryContext, additions: ReadonlyArray<readonly [string, number]>): Promise<void> {
  const matched = ctx.policies.ruleFor(ctx.name);
  const quota = matched?.rule.quota;
  if (matched === undefined || quota === undefined) return;
  const footprint = await ctx.usage.footprint(ctx.name);
  const adding = new Map<string, number>();
  for (const [digest, size] of additions) if (!footprint.blobs.has(digest)) adding.set(digest, size);
  let added = 0;
  for (const size of adding.values()) added += size;
  if (added === 0 || footprint.bytes + added <= quota) return;
  throw new PolicyDeniedError(
    `repository ${ctx.name} is over its quota (${matched.key}.quota ${quota} bytes): it uses ${footprint.bytes} bytes and this push adds ${added}`,
    { quota, usage: footprint.bytes, adding: added },
  );
}
