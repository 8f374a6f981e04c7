import type { Logger } from '@berth/storage-driver';
import { yieldIfDue } from '@berth/storage-driver';
import { listRepositories } from '../catalog';
import { mapLimit } from '../concurrency';
import type { RegistryContext } from '../context';
import { Digest } from '../digest';
import { UnsupportedError } from '../errors';
import { manifestReferences } from '../gc/manifest-refs';
import { pathFor } from '../paths';
import { globToRegExp, type MatchedRule, type RetentionRule } from './rules';

/**
 * Retention (`policies[].retention`, docs/policies.md): which tags and manifests of each repository
 * a rule keeps, and the deletion of the others. Only links are deleted (tags, revisions, referrer
 * entries); the space is returned by the next garbage collection.
 */

/** What retention decided for one tag. */
export interface TagDecision {
  readonly tag: string;
  readonly digest: string;
  /** The modification time of the tag's `current/link` (see docs/policies.md for its precision per driver). */
  readonly pushedAt: Date;
  readonly kept: boolean;
  readonly reason: string;
}

/** A manifest retention deletes (or would, in a dry run). */
export interface ManifestDecision {
  readonly digest: string;
  readonly reason: string;
}

export interface RepositoryRetention {
  readonly name: string;
  /** The rule's key (`policies.<i>`). */
  readonly rule: string;
  readonly tags: readonly TagDecision[];
  readonly deletedManifests: readonly ManifestDecision[];
  /** What could not be done (a storage error); the rest of the run goes on. */
  readonly errors: readonly string[];
}

export interface RetentionReport {
  readonly dryRun: boolean;
  readonly repositories: readonly RepositoryRetention[];
  readonly tagsDeleted: number;
  readonly manifestsDeleted: number;
  readonly errors: number;
}

export interface RetentionOptions {
  /** Decide and report, change nothing. */
  readonly dryRun?: boolean;
  /** The current time (tests). */
  readonly now?: number;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
}

/** True when the rule retains tags at all (one of keeplast, keeptags, pushedwithin is set). */
export function retainsTags(retention: RetentionRule | undefined): boolean {
  return retention !== undefined && (retention.keepLast !== undefined || retention.keepTags.length > 0 || retention.pushedWithinMs !== undefined);
}

function appliesRetention(retention: RetentionRule | undefined): retention is RetentionRule {
  return retainsTags(retention) || retention?.untaggedOlderThanMs !== undefined;
}

/** A Go-like duration for messages (`720h`, `90m`, `30s`). */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${Math.round(ms / 1000)}s`;
  return `${ms}ms`;
}

interface TagState {
  readonly tag: string;
  readonly digest: Digest;
  readonly pushedAt: Date;
}

/** Applies every rule with a retention to the repositories it matches. */
export async function applyRetention(ctx: RegistryContext, options: RetentionOptions = {}): Promise<RetentionReport> {
  const dryRun = options.dryRun ?? false;
  if (!dryRun && (ctx.writes.readOnly || ctx.writes.pullThrough)) {
    throw new UnsupportedError('retention cannot delete in read-only mode or on a pull-through cache (use --dry-run)');
  }
  const now = options.now ?? Date.now();
  const repositories: RepositoryRetention[] = [];
  if (!ctx.policies.rules.some((rule) => appliesRetention(rule.retention))) {
    return { dryRun, repositories, tagsDeleted: 0, manifestsDeleted: 0, errors: 0 };
  }
  for (const name of await listRepositories(ctx.storage)) {
    options.signal?.throwIfAborted();
    const matched = ctx.policies.ruleFor(name);
    if (!matched || !appliesRetention(matched.rule.retention)) continue;
    repositories.push(await retainRepository({ ...ctx, name }, matched, now, dryRun, options.logger ?? ctx.logger));
  }
  let tagsDeleted = 0;
  let manifestsDeleted = 0;
  let errors = 0;
  for (const r of repositories) {
    tagsDeleted += r.tags.filter((t) => !t.kept).length;
    manifestsDeleted += r.deletedManifests.length;
    errors += r.errors.length;
  }
  return { dryRun, repositories, tagsDeleted, manifestsDeleted, errors };
}

async function readTags(ctx: RegistryContext & { name: string }): Promise<TagState[]> {
  const names = (await ctx.storage.listNames(pathFor({ kind: 'tags', name: ctx.name }))) ?? [];
  const states = await mapLimit(names, ctx.tagConcurrencyLimit, async (tag): Promise<TagState | undefined> => {
    const path = pathFor({ kind: 'tagCurrentLink', name: ctx.name, tag });
    const [info, digest] = await Promise.all([ctx.storage.stat(path), ctx.storage.readLink(path)]);
    return info && digest ? { tag, digest, pushedAt: info.modTime } : undefined;
  });
  return states.filter((s): s is TagState => s !== undefined);
}

function decideTags(ctx: RegistryContext & { name: string }, matched: MatchedRule, tags: TagState[], now: number): TagDecision[] {
  const retention = matched.rule.retention as RetentionRule;
  const keepTags = retention.keepTags.map((glob) => ({ glob, re: globToRegExp(glob) }));
  // Most recent first; equal times by name, so that a run is repeatable.
  const ordered = [...tags].sort((a, b) => b.pushedAt.getTime() - a.pushedAt.getTime() || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  return ordered.map((t, rank) => {
    const base = { tag: t.tag, digest: t.digest.toString(), pushedAt: t.pushedAt };
    const immutable = ctx.policies.immutableGlob(ctx.name, t.tag);
    if (immutable !== undefined) return { ...base, kept: true, reason: `immutable (${matched.key}.immutabletags ${JSON.stringify(immutable)})` };
    if (!retainsTags(retention)) return { ...base, kept: true, reason: 'the rule retains every tag (no keeplast, keeptags or pushedwithin)' };
    if (retention.keepLast !== undefined && rank < retention.keepLast) {
      return { ...base, kept: true, reason: `among the last ${retention.keepLast} pushed (#${rank + 1})` };
    }
    const kept = keepTags.find(({ re }) => re.test(t.tag));
    if (kept) return { ...base, kept: true, reason: `matches keeptags ${JSON.stringify(kept.glob)}` };
    const age = now - t.pushedAt.getTime();
    if (retention.pushedWithinMs !== undefined && age < retention.pushedWithinMs) {
      return { ...base, kept: true, reason: `pushed within ${formatDuration(retention.pushedWithinMs)}` };
    }
    const why = [
      retention.keepLast !== undefined ? `not among the last ${retention.keepLast} pushed` : undefined,
      keepTags.length > 0 ? 'matches no keeptags' : undefined,
      retention.pushedWithinMs !== undefined ? `pushed more than ${formatDuration(retention.pushedWithinMs)} ago` : undefined,
    ].filter((w) => w !== undefined);
    return { ...base, kept: false, reason: why.join(', ') };
  });
}

interface ManifestNode {
  readonly digest: string;
  readonly children: readonly string[];
  readonly subject?: string;
  readonly pushedAt?: Date;
}

async function readManifests(ctx: RegistryContext & { name: string }): Promise<ManifestNode[]> {
  const name = ctx.name;
  const digests: Digest[] = [];
  for (const algorithm of (await ctx.storage.listNames(`${pathFor({ kind: 'manifests', name })}/revisions`)) ?? []) {
    for (const hex of (await ctx.storage.listNames(pathFor({ kind: 'revisionsAlgorithm', name, algorithm }))) ?? []) {
      if (Digest.isValid(`${algorithm}:${hex}`)) digests.push(Digest.parse(`${algorithm}:${hex}`));
    }
  }
  return mapLimit(digests, ctx.tagConcurrencyLimit, async (digest) => {
    const [content, info] = await Promise.all([ctx.blobStore.getContent(digest), ctx.storage.stat(pathFor({ kind: 'revisionLink', name, digest }))]);
    const refs = content ? manifestReferences(content) : undefined;
    return {
      digest: digest.toString(),
      children: refs?.children.map((c) => c.toString()) ?? [],
      subject: refs?.subject?.toString(),
      pushedAt: info?.modTime,
    };
  });
}

/**
 * The manifests to delete: every manifest not reachable from a root. Roots are the manifests of
 * kept tags, and untagged manifests that are nobody's child or referrer and not older than
 * `untaggedolderthan`. Reachable: the children of a reachable index, the referrers of a reachable
 * manifest (referrers follow their subject).
 */
function decideManifests(retention: RetentionRule, nodes: readonly ManifestNode[], tags: readonly TagDecision[], now: number): ManifestDecision[] {
  const byDigest = new Map(nodes.map((n) => [n.digest, n]));
  const tagged = new Set(tags.map((t) => t.digest));
  const keptTagged = new Set(tags.filter((t) => t.kept).map((t) => t.digest));
  const children = new Set(nodes.flatMap((n) => n.children));
  const referrersOf = new Map<string, string[]>();
  for (const n of nodes) if (n.subject && byDigest.has(n.subject)) referrersOf.set(n.subject, [...(referrersOf.get(n.subject) ?? []), n.digest]);
  const expired = (n: ManifestNode): boolean =>
    retention.untaggedOlderThanMs !== undefined && n.pushedAt !== undefined && now - n.pushedAt.getTime() > retention.untaggedOlderThanMs;

  const alive = new Set<string>();
  const stack: string[] = [];
  for (const n of nodes) {
    const root =
      keptTagged.has(n.digest) || (!tagged.has(n.digest) && !children.has(n.digest) && !(n.subject && byDigest.has(n.subject)) && !expired(n));
    if (root) stack.push(n.digest);
  }
  while (stack.length > 0) {
    const digest = stack.pop() as string;
    if (alive.has(digest)) continue;
    alive.add(digest);
    for (const child of byDigest.get(digest)?.children ?? []) if (byDigest.has(child)) stack.push(child);
    for (const referrer of referrersOf.get(digest) ?? []) stack.push(referrer);
  }
  return nodes
    .filter((n) => !alive.has(n.digest))
    .map((n) => {
      let reason: string;
      if (tagged.has(n.digest)) reason = 'its tags were deleted and no kept index references it';
      else if (n.subject && byDigest.has(n.subject)) reason = `referrer of ${n.subject}, which is deleted`;
      else if (children.has(n.digest)) reason = 'untagged, and only deleted indexes reference it';
      else reason = `untagged for more than ${formatDuration(retention.untaggedOlderThanMs ?? 0)}`;
      return { digest: n.digest, reason };
    });
}

async function retainRepository(
  ctx: RegistryContext & { name: string },
  matched: MatchedRule,
  now: number,
  dryRun: boolean,
  logger: Logger,
): Promise<RepositoryRetention> {
  const retention = matched.rule.retention as RetentionRule;
  const errors: string[] = [];
  const tagStates = await readTags(ctx);
  let tags = decideTags(ctx, matched, tagStates, now);
  const nodes = await readManifests(ctx);
  const turn = yieldIfDue();
  if (turn) await turn;
  let deletedManifests = decideManifests(retention, nodes, tags, now);
  if (!dryRun) {
    const { storage, name } = ctx;
    const states = new Map(tagStates.map((t) => [t.tag, t]));
    const kept = new Set<string>();
    tags = await mapLimit(tags, ctx.tagConcurrencyLimit, async (decision) => {
      if (decision.kept) return decision;
      const path = pathFor({ kind: 'tagCurrentLink', name, tag: decision.tag });
      try {
        // A tag pushed again since it was read is the client's now: left alone.
        const [info, digest] = await Promise.all([storage.stat(path), storage.readLink(path)]);
        const before = states.get(decision.tag);
        if (!info || !digest || !before || !digest.equals(before.digest) || info.modTime.getTime() !== before.pushedAt.getTime()) {
          kept.add(digest?.toString() ?? '');
          return { ...decision, kept: true, reason: 'pushed again while retention ran' };
        }
        await storage.deleteIfExists(pathFor({ kind: 'tagDir', name, tag: decision.tag }));
        logger.debug('retention deleted a tag', { repository: name, tag: decision.tag, digest: decision.digest });
        return decision;
      } catch (error) {
        errors.push(`tag ${decision.tag}: ${(error as Error).message}`);
        kept.add(decision.digest);
        return { ...decision, kept: true, reason: `could not be deleted: ${(error as Error).message}` };
      }
    });
    ctx.usage.invalidate(name);
    // A manifest a tag points at now (pushed meanwhile, or whose tag could not be deleted) stays.
    const current = new Set((await readTags(ctx)).map((t) => t.digest.toString()));
    const remaining: ManifestDecision[] = [];
    for (const m of deletedManifests) {
      if (current.has(m.digest) || kept.has(m.digest)) continue;
      const digest = Digest.parse(m.digest);
      try {
        const subject = nodes.find((n) => n.digest === m.digest)?.subject;
        await storage.deleteIfExists(pathFor({ kind: 'revisionDir', name, digest }));
        if (subject && Digest.isValid(subject)) {
          await storage.deleteIfExists(pathFor({ kind: 'referrerLink', name, subject: Digest.parse(subject), digest }));
        }
        remaining.push(m);
        logger.debug('retention deleted a manifest', { repository: name, digest: m.digest, reason: m.reason });
      } catch (error) {
        errors.push(`manifest ${m.digest}: ${(error as Error).message}`);
      }
    }
    deletedManifests = remaining;
  }
  return { name: ctx.name, rule: matched.key, tags, deletedManifests, errors };
}

/** The report as text: per repository, each tag kept or deleted with the reason, then the summary. */
export function formatRetentionReport(report: RetentionReport): string {
  const lines: string[] = [];
  const verb = report.dryRun ? 'would delete' : 'deleted';
  for (const r of report.repositories) {
    lines.push(`${r.name} (${r.rule}):`);
    for (const t of r.tags) {
      lines.push(`  ${t.kept ? 'kept' : verb} tag ${t.tag} -> ${t.digest} pushed ${t.pushedAt.toISOString()}: ${t.reason}`);
    }
    for (const m of r.deletedManifests) lines.push(`  ${verb} manifest ${m.digest}: ${m.reason}`);
    for (const e of r.errors) lines.push(`  failed: ${e}`);
  }
  lines.push(
    `retention${report.dryRun ? ' (dry run)' : ''}: ${report.repositories.length} repositories, ${report.tagsDeleted} tags and ${report.manifestsDeleted} manifests ${report.dryRun ? 'would be ' : ''}deleted${report.errors > 0 ? `, ${report.errors} errors` : ''}`,
  );
  return lines.map((l) => `${l}\n`).join('');
}
