import { Digest, ManifestUnknownError, mapLimit, parseManifest, parseReference, type ParsedManifest, type Repository } from '@berth/registry';
import type { AuthLocals } from '../auth';
import { repositoryOf, sendJson, type Handler, type RequestContext } from '../context';
import { MAX_CONFIG_BYTES, ManifestSummaries, readSmallBlob, SUMMARY_CONCURRENCY, type ManifestSummary } from './summary';

/**
 * The web UI's JSON API (`<prefix>/ui/api/…`, docs/api.md#web-ui): what the pages show, each page
 * one request, from the registry services. Its routes are in the route table, so the same
 * authorization middleware guards them as the rest of the API.
 */

const summaries = new ManifestSummaries();

/** The host name clients pull from: `http.host`'s, else the request's `Host`. */
export function publicHost(ctx: RequestContext): string {
  if (ctx.options.host) {
    try {
      return new URL(ctx.options.host).host;
    } catch {
      return ctx.options.host;
    }
  }
  return ctx.req.headers.host ?? 'localhost';
}

/** Whether the registry takes deletes from clients at all (`storage.delete.enabled`, not read-only, not a cache). */
function deletesAccepted(ctx: RequestContext): boolean {
  const policy = ctx.registry.writePolicy;
  return policy.deleteEnabled && !policy.readOnly && !policy.pullThrough;
}

/** Whether this request's user may delete in `repository` (and the registry takes deletes). */
function mayDelete(ctx: RequestContext, repository: string): boolean {
  const allows = (ctx.res.locals as AuthLocals).allows;
  return deletesAccepted(ctx) && (allows === undefined || allows({ type: 'repository', name: repository, action: 'delete' }));
}

/** `GET /ui/api/session`: who the UI talks as and what the registry allows; answered without credentials too. */
export const getSession: Handler = async (ctx) => {
  const auth = ctx.options.auth;
  const policy = ctx.registry.writePolicy;
  sendJson(ctx.res, 200, {
    user: (ctx.res.locals as AuthLocals).user ?? null,
    auth: auth ? { scheme: auth.scheme, anonymousPull: auth.anonymousPull, challenge: auth.challenge(ctx.req, []) } : null,
    deleteEnabled: policy.deleteEnabled,
    readOnly: policy.readOnly,
    pullThrough: policy.pullThrough,
    host: publicHost(ctx),
  });
};

/** `GET /ui/api/repositories`: every repository name, sorted (the catalog, unpaged: the page pages). */
export const getRepositories: Handler = async (ctx) => {
  sendJson(ctx.res, 200, { repositories: await ctx.registry.repositories() });
};

function summaryFields(summary: ManifestSummary | undefined) {
  return summary
    ? { mediaType: summary.mediaType, artifactType: summary.artifactType ?? null, size: summary.size, platforms: summary.platforms }
    : { mediaType: null, artifactType: null, size: null, platforms: [] };
}

/**
 * `GET /ui/api/repositories/<name>/tags`: every tag with its digest, push time, media type, size
 * and platforms; each distinct manifest read once (and remembered by digest).
 */
export const getRepositoryTags: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const details = await repo.tags.details();
  const digests = [...new Set(details.map((d) => d.digest.toString()))];
  const summarised = await mapLimit(digests, SUMMARY_CONCURRENCY, (digest) => summaries.get(repo, Digest.parse(digest)));
  const byDigest = new Map(digests.map((digest, i) => [digest, summarised[i]]));
  sendJson(ctx.res, 200, {
    name: repo.name,
    canDelete: mayDelete(ctx, repo.name),
    tags: details.map((d) => ({ tag: d.tag, digest: d.digest.toString(), pushed: d.pushed.toISOString(), ...summaryFields(byDigest.get(d.digest.toString())) })),
  });
};

async function configOf(repo: Repository, digest: Digest): Promise<unknown> {
  const bytes = await readSmallBlob(repo, digest, MAX_CONFIG_BYTES).catch(() => undefined);
  if (!bytes) return null;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/**
 * `GET /ui/api/repositories/<name>/manifests/<reference>`: a manifest as the image page shows it:
 * the manifest itself, its config (when it is a small JSON), layers, an index's children with
 * their platforms, the tags pointing at it, its subject and its referrers.
 */
export const getManifestView: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const stored = await repo.manifests.get(parseReference(ctx.params.reference));
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(stored.content, stored.mediaType);
  } catch {
    throw new ManifestUnknownError(ctx.params.reference);
  }
  const manifest = JSON.parse(stored.content.toString('utf8')) as { manifests?: { platform?: unknown; annotations?: unknown }[] };
  const [summary, tags, referrers, config, children] = await Promise.all([
    summaries.get(repo, stored.digest),
    repo.tags.lookup(stored.digest),
    repo.referrers.list(stored.digest),
    parsed.config && !parsed.isIndex ? configOf(repo, parsed.config.digest) : Promise.resolve(null),
    mapLimit([...parsed.manifests.entries()], SUMMARY_CONCURRENCY, async ([i, child]) => {
      const childSummary = await summaries.get(repo, child.digest);
      return {
        digest: child.digest.toString(),
        mediaType: child.mediaType,
        size: childSummary?.size ?? child.size,
        artifactType: child.artifactType ?? childSummary?.artifactType ?? null,
        platform: manifest.manifests?.[i]?.platform ?? null,
        annotations: manifest.manifests?.[i]?.annotations ?? null,
      };
    }),
  ]);
  sendJson(ctx.res, 200, {
    name: repo.name,
    digest: stored.digest.toString(),
    mediaType: stored.mediaType,
    artifactType: summary?.artifactType ?? null,
    size: summary?.size ?? stored.content.length,
    manifestSize: stored.content.length,
    canDelete: mayDelete(ctx, repo.name),
    tags,
    manifest,
    config,
    layers: parsed.layers.map((layer) => ({ digest: layer.digest.toString(), mediaType: layer.mediaType, size: layer.size })),
    children,
    subject: parsed.subject ? parsed.subject.digest.toString() : null,
    referrers,
  });
};
