import { Digest } from '../digest';
import { isRepositoryName } from '../names';
import { pathFor, ROOT } from '../paths';

/**
 * Where garbage collection keeps its own state, beside `blobs/` and `repositories/` (distribution
 * and Berth's request paths never look there):
 *
 * ```
 * /docker/registry/v2/berth-gc/<run-id>/
 * ├── plan.json                  what the run set aside (written before it touches anything)
 * ├── decision.json              which of those a concurrent push turned out to need (written before finalising)
 * ├── heartbeat                  rewritten every minute while the run is alive
 * └── quarantine/<alg>/<hex>     blob data set aside (moved from blobs/<alg>/<xx>/<hex>/data)
 * ```
 *
 * A run deletes its directory when it finishes; a directory left by a crashed run is finished or
 * undone by the next run (see `recovery.ts`).
 */
export const GC_ROOT = `${ROOT}/berth-gc`;

export function runDir(runId: string): string {
  return `${GC_ROOT}/${runId}`;
}

export function planPath(runId: string): string {
  return `${runDir(runId)}/plan.json`;
}

export function decisionPath(runId: string): string {
  return `${runDir(runId)}/decision.json`;
}

export function heartbeatPath(runId: string): string {
  return `${runDir(runId)}/heartbeat`;
}

export function quarantinePath(runId: string, digest: Digest): string {
  return `${runDir(runId)}/quarantine/${digest.algorithm}/${digest.hex}`;
}

/** A digest from two path segments (`sha256`, `<hex>`), or undefined when they are not a supported digest. */
export function digestFromSegments(algorithm: string | undefined, hex: string | undefined): Digest | undefined {
  if (algorithm === undefined || hex === undefined) return undefined;
  const text = `${algorithm}:${hex}`;
  return Digest.isValid(text) ? Digest.parse(text) : undefined;
}

/** What one path below `repositories/` is, for the collector. */
export type RepositoryPath =
  | { readonly kind: 'uploads'; readonly repository: string }
  | { readonly kind: 'layerLink'; readonly repository: string; readonly digest: Digest }
  | { readonly kind: 'revisionLink'; readonly repository: string; readonly digest: Digest }
  | { readonly kind: 'tagCurrentLink'; readonly repository: string; readonly tag: string }
  | { readonly kind: 'tagIndexLink'; readonly repository: string; readonly tag: string; readonly digest: Digest }
  | { readonly kind: 'referrerLink'; readonly repository: string; readonly subject: Digest; readonly digest: Digest };

const REPOSITORIES = `${pathFor({ kind: 'repositories' })}/`;

/**
 * Classifies a driver path below `repositories/` (the inverse of `pathFor` for the kinds GC needs).
 * The repository name is every segment before the first one starting with `_` (no name component
 * may start with `_`). Anything else, including link paths whose digest Berth does not support,
 * answers undefined and is left alone.
 */
export function parseRepositoryPath(path: string): RepositoryPath | undefined {
  if (!path.startsWith(REPOSITORIES)) return undefined;
  const segments = path.slice(REPOSITORIES.length).split('/');
  const split = segments.findIndex((segment) => segment.startsWith('_'));
  if (split <= 0) return undefined;
  const repository = segments.slice(0, split).join('/');
  if (!isRepositoryName(repository)) return undefined;
  const [area, ...rest] = segments.slice(split);
  if (area === '_uploads') return rest.length === 0 ? { kind: 'uploads', repository } : undefined;
  if (rest[rest.length - 1] !== 'link') return undefined;
  if (area === '_layers' && rest.length === 3) {
    const digest = digestFromSegments(rest[0], rest[1]);
    return digest && { kind: 'layerLink', repository, digest };
  }
  if (area !== '_manifests') return undefined;
  const [section, ...tail] = rest;
  if (section === 'revisions' && tail.length === 3) {
    const digest = digestFromSegments(tail[0], tail[1]);
    return digest && { kind: 'revisionLink', repository, digest };
  }
  if (section === 'tags' && tail.length === 3 && tail[1] === 'current') {
    return { kind: 'tagCurrentLink', repository, tag: tail[0] as string };
  }
  if (section === 'tags' && tail.length === 5 && tail[1] === 'index') {
    const digest = digestFromSegments(tail[2], tail[3]);
    return digest && { kind: 'tagIndexLink', repository, tag: tail[0] as string, digest };
  }
  if (section === 'referrers' && tail.length === 5) {
    const subject = digestFromSegments(tail[0], tail[1]);
    const digest = digestFromSegments(tail[2], tail[3]);
    return subject && digest && { kind: 'referrerLink', repository, subject, digest };
  }
  return undefined;
}

const BLOBS = `${pathFor({ kind: 'blobs' })}/`;

/** The digest of a `blobs/<alg>/<xx>/<hex>/data` path, or undefined for anything else. */
export function parseBlobDataPath(path: string): Digest | undefined {
  if (!path.startsWith(BLOBS)) return undefined;
  const segments = path.slice(BLOBS.length).split('/');
  if (segments.length !== 4 || segments[3] !== 'data') return undefined;
  const digest = digestFromSegments(segments[0], segments[2]);
  return digest && digest.hex.slice(0, 2) === segments[1] ? digest : undefined;
}
